type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** An element with attributes (on* are listeners, `false`/null are left out) and children; text is never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'number' ? String(c) : c)));
  return el;
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export function time(iso: string | null | undefined): HTMLElement {
  return iso ? h('time', { datetime: iso }, when(iso)) : h('span', {}, '—');
}

/** Marks the page loaded (what tests and scripts wait for) unless it was replaced meanwhile, e.g. by a sign-out. */
export function loaded(main: HTMLElement, part: Element | null, page: string): void {
  if (part?.isConnected) main.dataset.loaded = page;
}

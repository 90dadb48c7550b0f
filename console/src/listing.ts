import { explain, list } from './api';
import { h, loaded } from './dom';

const PAGE_SIZE = 25;

export interface FilteredList<T> {
  /** The page's address and name (`promotions` → #/promotions, main[data-loaded="promotions"]). */
  name: string;
  heading: string;
  /** What the rows are, plural (“promotions”, “runs”). */
  noun: string;
  /** The API list to read, under /api/v1. */
  path: string;
  statuses: readonly string[];
  /** The ids of the filter and the table body, kept from the first pages so tests and links keep working. */
  ids: { filter: string; rows: string };
  columns: string[];
  row: (item: T) => HTMLTableRowElement;
}

const words = (status: string) => status.replace(/_/g, ' ');

/** A list of the API filtered by status and paged by number, both kept in the address (#/<name>?status=…&page=…). */
export async function filteredListPage<T>(main: HTMLElement, query: URLSearchParams, spec: FilteredList<T>): Promise<void> {
  const status = query.get('status') ?? '';
  const page = Math.max(1, Number(query.get('page')) || 1);
  const go = (next: { status?: string; page?: number }) => {
    const q = new URLSearchParams();
    const s = next.status ?? status;
    if (s) q.set('status', s);
    if ((next.page ?? 1) > 1) q.set('page', String(next.page));
    location.hash = `#/${spec.name}${q.size ? `?${q}` : ''}`;
  };
  const filter = h(
    'select',
    { id: spec.ids.filter, name: 'status', onchange: (e) => go({ status: (e.target as HTMLSelectElement).value, page: 1 }) },
    h('option', { value: '' }, 'Any status'),
    ...spec.statuses.map((s) => h('option', { value: s, selected: s === status }, words(s))),
  );
  const error = h('p', { class: 'error', role: 'alert' });
  const body = h('tbody', { id: spec.ids.rows });
  const summary = h('p', { role: 'status', class: 'muted' }, 'Loading…');
  const pager = h('div', { class: 'actions' });
  const noun = spec.noun[0]!.toUpperCase() + spec.noun.slice(1);
  main.replaceChildren(
    h(
      'section',
      { 'aria-labelledby': `${spec.name}-heading` },
      h('h2', { id: `${spec.name}-heading` }, spec.heading),
      h('form', { class: 'inline', onsubmit: (e) => e.preventDefault() }, h('label', { for: spec.ids.filter }, 'Status'), filter),
      error,
      summary,
      h(
        'table',
        {},
        h('caption', {}, status ? `${noun} ${words(status)}` : `All ${spec.noun}`),
        h('thead', {}, h('tr', {}, ...spec.columns.map((c) => h('th', { scope: 'col' }, c)))),
        body,
      ),
      pager,
    ),
  );
  try {
    const q = new URLSearchParams({ page: String(page), pageSize: String(PAGE_SIZE) });
    if (status) q.set('status', status);
    const result = await list<T>(`${spec.path}?${q}`);
    body.replaceChildren(...result.data.map(spec.row));
    summary.textContent = result.totalItems === 0 ? `No ${spec.noun}.` : `Page ${result.page} of ${result.totalPages} (${result.totalItems} ${spec.noun}).`;
    pager.replaceChildren(
      h('button', { type: 'button', disabled: result.page <= 1, onclick: () => go({ page: result.page - 1 }) }, 'Previous page'),
      h('button', { type: 'button', disabled: result.page >= result.totalPages, onclick: () => go({ page: result.page + 1 }) }, 'Next page'),
    );
  } catch (err) {
    summary.textContent = '';
    error.textContent = explain(err);
  }
  loaded(main, body, spec.name);
}

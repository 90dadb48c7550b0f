import { explain, streamRefusal } from './api';
import { h, time } from './dom';

export interface StreamEvent {
  type: 'event';
  id: string;
  event: string;
  subject: { type: string; id: string };
  at: string;
  data: Record<string, unknown>;
}

type Message = StreamEvent | { type: 'ready'; lastEventId?: string } | { type: 'gap'; message: string } | { type: string };

const KEEP = 200;
const STREAM_PATH = '/api/v1/dashboard/stream';
const MAX_DELAY_MS = 15_000;

/** A few words from an event's data: its status, decision or step, whichever it has. */
function summary(data: Record<string, unknown>): string {
  const picks = ['status', 'previousStatus', 'decision', 'approverId', 'state', 'step', 'phase', 'message'];
  return picks
    .filter((k) => typeof data[k] === 'string' || typeof data[k] === 'number')
    .map((k) => `${k}: ${data[k]}`)
    .join(', ');
}

/** What an event is about; a promotion links to its page. */
const subjectOf = (subject: StreamEvent['subject']): Node | string =>
  subject.type === 'promotion' ? h('a', { href: `#/promotions/${encodeURIComponent(subject.id)}` }, `promotion ${subject.id}`) : `${subject.type} ${subject.id}`;

/**
 * The dashboard stream as a feed. It keeps the id of the last event it showed
 * and, when the socket drops, reconnects with `lastEventId` after a growing
 * delay, so nothing in between is missed or shown twice. It runs from sign-in
 * to sign-out, so the feed fills while other pages are open.
 */
export class LiveFeed {
  readonly state = h('p', { role: 'status', id: 'live-state', 'data-state': 'connecting' }, 'Connecting…');
  readonly list = h('ol', { class: 'plain feed', id: 'live-feed', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Events, newest first' });
  private socket: WebSocket | undefined;
  private lastEventId: string | undefined;
  private retries = 0;
  private timer: number | undefined;
  private stopped = false;
  private readonly listeners = new Set<(e: StreamEvent) => void>();

  constructor(private readonly token: string) {}

  /** Opens the stream; the app calls it once the API has taken the token, so a refused token opens no socket. */
  start(): void {
    if (!this.socket && !this.stopped) this.connect();
  }

  /** Calls `listener` with each event until it returns false (a page that is gone). */
  listen(listener: (e: StreamEvent) => boolean): void {
    const wrapped = (e: StreamEvent) => {
      if (!listener(e)) this.listeners.delete(wrapped);
    };
    this.listeners.add(wrapped);
  }

  private setState(state: string, text: string): void {
    // On the root too, so any page (and a test) can tell whether events are flowing.
    document.documentElement.dataset.live = state;
    this.state.dataset.state = state;
    this.state.textContent = text;
  }

  private connect(): void {
    const q = new URLSearchParams({ access_token: this.token });
    if (this.lastEventId) q.set('lastEventId', this.lastEventId);
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${STREAM_PATH}?${q}`);
    this.socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.setState('catching-up', this.lastEventId ? 'Reconnected; catching up…' : 'Connected; waiting for events…');
    };
    ws.onmessage = (e) => this.receive(JSON.parse(String(e.data)) as Message);
    ws.onclose = async (e) => {
      if (this.stopped || this.socket !== ws) return;
      // A socket refused before it opened tells the page nothing; the same address asked as plain HTTP says why
      // (a 401 signs out). A 403 (no permission to read any event) will not pass on a retry: the feed says so and stops.
      if (!opened) {
        const refusal = await streamRefusal(STREAM_PATH);
        if (this.stopped || this.socket !== ws) return;
        if (refusal) {
          this.setState('refused', `The live feed is not available to you: ${explain(refusal)}`);
          return;
        }
      }
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.retries++);
      const why = opened ? `Disconnected${e.reason ? ` (${e.reason})` : ''}` : 'Could not connect to the live stream';
      this.setState('reconnecting', `${why}; trying again in ${Math.ceil(delay / 1000)} s…`);
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private receive(m: Message): void {
    if (m.type === 'ready') {
      this.retries = 0;
      const ready = m as { lastEventId?: string };
      if (ready.lastEventId) this.lastEventId = ready.lastEventId;
      this.setState('live', 'Live: new events appear below as they happen.');
    } else if (m.type === 'gap') {
      this.add(h('li', { class: 'notice' }, (m as { message: string }).message));
    } else if (m.type === 'event') {
      const e = m as StreamEvent;
      this.lastEventId = e.id;
      const about = summary(e.data ?? {});
      for (const listener of [...this.listeners]) listener(e);
      this.add(h('li', { 'data-event-id': e.id, 'data-event': e.event, 'data-subject': e.subject.id }, time(e.at), h('strong', {}, e.event), ' ', subjectOf(e.subject), about ? ` — ${about}` : ''));
    }
  }

  private add(item: HTMLElement): void {
    this.list.prepend(item);
    while (this.list.children.length > KEEP) this.list.lastElementChild?.remove();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.listeners.clear();
    delete document.documentElement.dataset.live;
    this.socket?.close(1000, 'signed out');
  }
}

export function livePage(main: HTMLElement, feed: LiveFeed): void {
  main.replaceChildren(
    h(
      'section',
      { 'aria-labelledby': 'live-heading' },
      h('h2', { id: 'live-heading' }, 'Live activity'),
      h('p', { class: 'muted' }, 'Promotions, approvals, deployments, rollouts, freezes and incident deadlines of your tenant, as they happen.'),
      feed.state,
      feed.list,
    ),
  );
  main.dataset.loaded = 'live';
}

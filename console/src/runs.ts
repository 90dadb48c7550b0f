import { api, explain, streamRefusal } from './api';
import { stepDecision } from './decide';
import { h, loaded, time } from './dom';
import { filteredListPage } from './listing';
import { session } from './session';
import { FINISHED_RUN_STATUSES, RUN_STATUSES, type RunNode, type WorkflowRun } from './types';

const MAX_DELAY_MS = 15_000;
const statusBadge = (status: string) => h('span', { class: `status status-${status}` }, status);

/** Workflow runs, newest first, filtered by status (kept in the address: #/runs?status=…&page=…). */
export function runsPage(main: HTMLElement, query: URLSearchParams): Promise<void> {
  return filteredListPage<WorkflowRun>(main, query, {
    name: 'runs',
    heading: 'Workflow runs',
    noun: 'runs',
    path: '/workflow-runs',
    statuses: RUN_STATUSES,
    ids: { filter: 'run-status-filter', rows: 'run-rows' },
    columns: ['Template', 'Status', 'Requested by', 'Started', 'Ended'],
    row: (r) =>
      h(
        'tr',
        { 'data-run-id': r.id },
        h('td', {}, h('a', { href: `#/runs/${r.id}` }, `${r.templateName} v${r.templateVersion}`)),
        h('td', {}, statusBadge(r.status)),
        h('td', {}, r.requestedByEmail ?? r.requestedBy),
        h('td', {}, time(r.createdAt)),
        h('td', {}, time(r.endedAt)),
      ),
  });
}

function took(node: RunNode): string {
  if (!node.startedAt) return '—';
  const ms = (node.endedAt ? Date.parse(node.endedAt) : Date.now()) - Date.parse(node.startedAt);
  const s = Math.max(0, Math.round(ms / 100) / 10);
  return `${s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`}${node.endedAt ? '' : ' so far'}`;
}

/** What a node says beyond its status: its error, why it was skipped or what it waits for, its items, its decisions. */
function detail(node: RunNode): Array<Node | string> {
  const parts: Array<Node | string> = [];
  if (node.error) parts.push(h('span', { class: 'failed node-error' }, `${node.error.code}: ${node.error.message}`));
  if (node.reason) parts.push(h('span', { class: 'muted' }, node.reason));
  if (node.items) parts.push(`items: ${node.items.succeeded}/${node.items.total} succeeded, ${node.items.failed} failed, ${node.items.running} running`);
  if (node.approval?.message) parts.push(`“${node.approval.message}”`);
  for (const a of node.approvals ?? []) parts.push(`${a.decision} by ${a.approverEmail ?? a.approverId}${a.comment ? `: “${a.comment}”` : ''}`);
  return parts.flatMap((p, i) => (i === 0 ? [p] : [h('br'), p]));
}

/** The run page's live socket: one at a time, closed when the page is left. */
let current: RunStream | undefined;

export function leaveRunPage(): void {
  current?.stop();
  current = undefined;
}

/**
 * One run: its facts and its nodes (status, attempts, times, errors), the
 * decision buttons of an approval node that waits, and live updates from
 * WS /api/v1/workflow-runs/{id}/stream, which sends the whole run again on
 * every change. After a drop it reconnects (a new snapshot brings it up to
 * date); a refusal (403, 404) is said in the API's words and not retried; the
 * stream ends once the run has finished.
 */
export async function runPage(main: HTMLElement, id: string): Promise<void> {
  leaveRunPage();
  const error = h('p', { class: 'error', role: 'alert' });
  main.replaceChildren(h('section', {}, h('h2', {}, 'Workflow run'), h('p', { role: 'status', class: 'muted' }, 'Loading…'), error));
  let run: WorkflowRun;
  try {
    run = await api<WorkflowRun>('GET', `/workflow-runs/${encodeURIComponent(id)}`);
  } catch (err) {
    main.replaceChildren(h('section', {}, h('h2', {}, 'Workflow run'), error, h('p', {}, h('a', { href: '#/runs' }, 'Back to runs'))));
    error.textContent = explain(err);
    loaded(main, error, 'run');
    return;
  }
  const facts = h('dl', { class: 'facts', id: 'run-facts' });
  const rows = h('tbody', { id: 'run-nodes' });
  const state = h('p', { role: 'status', id: 'run-live', 'data-state': 'connecting' }, 'Connecting to live updates…');
  const announce = h('p', { class: 'visually-hidden', 'aria-live': 'polite', id: 'run-announce' });
  const section = h(
    'section',
    { 'aria-labelledby': 'run-heading', 'data-run-id': run.id },
    h('p', {}, h('a', { href: '#/runs' }, '← Workflow runs')),
    h('h2', { id: 'run-heading' }, `Run of ${run.templateName} v${run.templateVersion}`),
    facts,
    state,
    announce,
    h(
      'section',
      { 'aria-labelledby': 'nodes-heading' },
      h('h3', { id: 'nodes-heading' }, 'Nodes'),
      h('table', { 'aria-labelledby': 'nodes-heading' }, h('thead', {}, h('tr', {}, ...['Node', 'Type', 'Status', 'Attempts', 'Started', 'Ended', 'Took', 'Details'].map((c) => h('th', { scope: 'col' }, c)))), rows),
    ),
  );
  main.replaceChildren(section);

  // Decision buttons survive re-renders while their node still waits, so a reason being typed is kept.
  const decisions = new Map<string, HTMLElement>();
  const render = (next: WorkflowRun, previous?: WorkflowRun) => {
    // The read after a decision and the stream race: an answer older than what is shown is dropped.
    if (previous && next.version < previous.version) return;
    run = next;
    section.dataset.status = next.status;
    const list: Array<[string, Node | string]> = [
      ['Status', statusBadge(next.status)],
      ['Template', `${next.templateName} v${next.templateVersion}`],
      ['Requested by', next.requestedByEmail ?? next.requestedBy],
      ['Started', time(next.createdAt)],
      ['Ended', time(next.endedAt)],
    ];
    if (next.statusReason) list.push(['Why', next.statusReason]);
    facts.replaceChildren(...list.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, v)]));
    rows.replaceChildren(
      ...next.nodes.map((node) => {
        const waits = node.type === 'approval' && node.status === 'running' && !FINISHED_RUN_STATUSES.includes(next.status);
        let decide = decisions.get(node.nodeId);
        if (waits && !decide) {
          const step = `/api/v1/workflow-runs/${next.id}/steps/${encodeURIComponent(node.nodeId)}`;
          decide = stepDecision({ runId: next.id, nodeId: node.nodeId, links: { approve: `${step}/approve`, reject: `${step}/reject` } }, () => void refresh());
          decisions.set(node.nodeId, decide);
        }
        if (!waits) decisions.delete(node.nodeId);
        return h(
          'tr',
          { 'data-node': node.nodeId, 'data-status': node.status },
          h('th', { scope: 'row' }, node.nodeId, node.phase === 'main' ? '' : h('span', { class: 'muted' }, ` (${node.phase})`)),
          h('td', {}, node.type),
          h('td', {}, statusBadge(node.status)),
          h('td', {}, node.attempts),
          h('td', {}, time(node.startedAt)),
          h('td', {}, time(node.endedAt)),
          h('td', {}, took(node)),
          h('td', {}, ...detail(node), waits && decide ? decide : ''),
        );
      }),
    );
    if (previous) {
      const moved = next.nodes.filter((n) => previous.nodes.find((p) => p.nodeId === n.nodeId)?.status !== n.status).map((n) => `${n.nodeId} ${n.status}`);
      if (previous.status !== next.status) moved.push(`run ${next.status}`);
      if (moved.length) announce.textContent = moved.join('; ');
    }
  };
  const refresh = async () => {
    try {
      render(await api<WorkflowRun>('GET', `/workflow-runs/${encodeURIComponent(run.id)}`), run);
    } catch (err) {
      error.textContent = explain(err);
    }
  };
  render(run);
  section.append(error);
  const token = session.token();
  if (token) current = new RunStream(run.id, token, state, (next) => section.isConnected && render(next, run), () => FINISHED_RUN_STATUSES.includes(run.status));
  loaded(main, section, 'run');
}

type RunMessage = { type: 'snapshot'; run: WorkflowRun } | { type: 'run'; run: WorkflowRun } | { type: string };

class RunStream {
  private socket: WebSocket | undefined;
  private retries = 0;
  private timer: number | undefined;
  private stopped = false;

  constructor(
    private readonly runId: string,
    private readonly token: string,
    private readonly state: HTMLElement,
    private readonly onRun: (run: WorkflowRun) => void,
    private readonly finished: () => boolean,
  ) {
    this.connect();
  }

  private setState(state: string, text: string): void {
    this.state.dataset.state = state;
    this.state.textContent = text;
  }

  private connect(): void {
    const path = `/api/v1/workflow-runs/${encodeURIComponent(this.runId)}/stream`;
    // Only what moves from now on: the page shows nodes, not their log lines.
    const q = new URLSearchParams({ access_token: this.token, logs: 'new' });
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}?${q}`);
    this.socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as RunMessage;
      if (m.type !== 'snapshot' && m.type !== 'run') return;
      this.retries = 0;
      this.onRun((m as { run: WorkflowRun }).run);
      if (m.type === 'snapshot') this.setState('live', 'Live: nodes update as the run moves.');
    };
    ws.onclose = async (e) => {
      if (this.stopped || this.socket !== ws) return;
      if (e.code === 1000 && this.finished()) {
        this.setState('ended', 'The run has finished; nothing more will change.');
        return;
      }
      if (!opened) {
        const refusal = await streamRefusal(path);
        if (this.stopped) return;
        if (refusal) {
          this.setState('refused', `Live updates are not available: ${explain(refusal)}`);
          return;
        }
      }
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.retries++);
      this.setState('reconnecting', `${opened ? 'Disconnected' : 'Could not connect to live updates'}; trying again in ${Math.ceil(delay / 1000)} s…`);
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.socket?.close(1000, 'page left');
  }
}

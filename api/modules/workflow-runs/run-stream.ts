import { FINISHED_RUN_STATUSES, type RunNode, type WorkflowRun } from '../../../domain/templates/model';
import { MarkedStream, type StreamDeps } from '../../realtime/marked-stream';
import type { StreamSocket } from '../../realtime/stream-socket';
import type { WorkflowRunEvent } from '../../realtime/workflow-run-events';
import { findRun, logHeads, logLinesAfter } from './workflow-runs.queries';

/**
 * WS /workflow-runs/{id}/stream: `{type:'snapshot', run}` first, then `run`
 * (the run, and which nodes moved) whenever its row moves and `log` (a node's
 * new lines) as its steps log. Events only mark what to read; one loop reads
 * and sends, so a burst of NOTIFYs costs one read. Once the run has finished,
 * its last lines go out, then its final state, and the socket closes with 1000.
 */

/** `start`: each node's lines from the first; `now`: only lines logged after the client connected. */
export type RunLogsFrom = 'start' | 'now';

/** Lines per read (and per message). */
const LOG_BATCH = 500;

interface Pending {
  all: boolean;
  run: boolean;
  logs: Set<string>;
}
const nothing = (): Pending => ({ all: false, run: false, logs: new Set() });
const hasWork = (p: Pending) => p.all || p.run || p.logs.size > 0;
const fingerprint = (n: RunNode) => JSON.stringify([n.status, n.attempts, n.startedAt, n.endedAt, n.items, n.approvals?.length ?? 0, n.reason]);

export class RunStream extends MarkedStream<Pending> {
  private version = -1;
  private readonly sentNodes = new Map<string, string>();
  /** The last line sent of each node, per forEach item (-1: the node's own lines). */
  private readonly heads = new Map<string, Map<number, number>>();
  private finishing = false;

  constructor(
    deps: StreamDeps,
    tenantId: string,
    socket: StreamSocket,
    private readonly logsFrom: RunLogsFrom,
    private run: WorkflowRun,
  ) {
    super(deps, tenantId, socket, 'live workflow-run stream');
  }

  protected nothing(): Pending {
    return nothing();
  }

  protected hasWork(p: Pending): boolean {
    return hasWork(p);
  }

  protected listeners() {
    return { onRunEvent: (event: WorkflowRunEvent) => this.onEvent(event) };
  }

  protected markAll(p: Pending): void {
    p.all = true;
  }

  protected async snapshot(): Promise<void> {
    this.run = (await findRun(this.deps.pool, this.tenantId, this.run.id)) ?? this.run;
    this.version = this.run.version;
    for (const node of this.run.nodes) this.sentNodes.set(node.nodeId, fingerprint(node));
    await this.socket.send({ type: 'snapshot', run: this.run });
    if (this.logsFrom === 'now') {
      for (const head of await logHeads(this.deps.pool, this.tenantId, this.run.id)) this.headsOf(head.nodeId).set(head.itemIndex, head.seq);
    } else {
      for (const node of this.run.nodes) this.pending.logs.add(node.nodeId);
    }
    if (this.isFinished(this.run)) this.pending.run = true;
  }

  private onEvent(event: WorkflowRunEvent): void {
    if (event.runId !== this.run.id) return;
    this.mark((p) => {
      if (event.kind === 'run') p.run = true;
      else if (event.nodeId) p.logs.add(event.nodeId);
      else p.all = true;
    });
  }

  // Log lines before the run, so a run's final state is the last thing a client reads.
  protected async process(work: Pending): Promise<boolean> {
    if (work.all) await this.sweep();
    else for (const nodeId of work.logs) await this.sendLog(nodeId);
    if (work.all || work.run) {
      const run = await findRun(this.deps.pool, this.tenantId, this.run.id);
      if (run && this.isFinished(run) && !this.finishing) {
        this.finishing = true;
        await this.sweep();
      }
      if (run && run.version > this.version) await this.sendRun(run);
    }
    return this.finishing;
  }

  private async sendRun(run: WorkflowRun): Promise<void> {
    const changed = run.nodes.filter((n) => this.sentNodes.get(n.nodeId) !== fingerprint(n)).map((n) => n.nodeId);
    for (const node of run.nodes) this.sentNodes.set(node.nodeId, fingerprint(node));
    this.run = run;
    this.version = run.version;
    await this.socket.send({ type: 'run', run, changed });
  }

  private async sweep(): Promise<void> {
    for (const node of this.run.nodes) await this.sendLog(node.nodeId);
  }

  private async sendLog(nodeId: string): Promise<void> {
    const heads = this.headsOf(nodeId);
    for (;;) {
      const lines = await logLinesAfter(this.deps.pool, this.tenantId, this.run.id, nodeId, heads, LOG_BATCH);
      if (lines.length === 0 || this.stopped) return;
      for (const l of lines) heads.set(l.itemIndex, Math.max(heads.get(l.itemIndex) ?? -1, l.seq));
      await this.socket.send({ type: 'log', nodeId, lines: lines.map((l) => ({ ...l, itemIndex: l.itemIndex < 0 ? null : l.itemIndex })) });
      if (lines.length < LOG_BATCH) return;
    }
  }

  private headsOf(nodeId: string): Map<number, number> {
    let heads = this.heads.get(nodeId);
    if (!heads) this.heads.set(nodeId, (heads = new Map()));
    return heads;
  }

  private isFinished(run: WorkflowRun): boolean {
    return FINISHED_RUN_STATUSES.includes(run.status);
  }
}

import type { Logger } from '../../platform/logger';
import { AgentApiError, type ApiTarget, type HeartbeatAnswer } from './api-client';
import { AGENT_CAPABILITIES, AGENT_VERSION, type AgentSession, type SavedIdentity } from './session';
import { reportTargets, type TargetRecords } from './target-reports';

export interface HeartbeatLoopOptions {
  session: AgentSession;
  records: TargetRecords;
  log: Logger;
  /** The interval; read before every wait, so the one a new registration names takes effect. */
  intervalMs: () => number;
  /** A refused credential was replaced by a new registration: the agent now has another id and task queue. */
  onReregistered?: (identity: SavedIdentity) => Promise<void> | void;
}

/**
 * Tells the API the agent is alive and what each of its targets runs. Its targets are the tenant's targets naming
 * this agent (read again every beat), plus any the API listed for it at the last beat and this agent remembers.
 */
export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private failing = false;
  private listWarned = false;
  private assigned: string[] = [];
  private readonly stopper = new AbortController();

  constructor(private readonly options: HeartbeatLoopOptions) {}

  /** One heartbeat; a refused credential is replaced by registering again (when the token is at hand), then retried. */
  async beat(): Promise<HeartbeatAnswer> {
    try {
      return await this.send();
    } catch (error) {
      if (!(error instanceof AgentApiError) || error.status !== 401) throw error;
      const identity = await this.options.session.register(`${error.code}: ${error.message}`);
      await this.options.onReregistered?.(identity);
      return this.send();
    }
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.stopper.abort();
    await this.inFlight.catch(() => undefined);
  }

  private schedule() {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.beat().then(
        () => {
          if (this.failing) this.options.log.info('heartbeats reach the API again');
          this.failing = false;
        },
        (error) => {
          if (!this.running) return;
          // Once per outage at warn; every repeat at debug, so a long outage does not flood the log.
          this.options.log[this.failing ? 'debug' : 'warn']({ err: (error as Error).message }, 'heartbeat failed');
          this.failing = true;
        },
      );
      void this.inFlight.finally(() => this.schedule());
    }, this.options.intervalMs());
  }

  private async send(): Promise<HeartbeatAnswer> {
    const { session, records } = this.options;
    const me = session.identity;
    if (!me) throw new AgentApiError(401, 'NOT_REGISTERED', 'the agent has not registered');
    const signal = this.stopper.signal;
    const targets = await this.myTargets(me.id, signal);
    const answer = await session.api.heartbeat({ version: AGENT_VERSION, capabilities: AGENT_CAPABILITIES, targets: await reportTargets(targets, records, signal) }, signal);
    if (Array.isArray(answer?.agent?.targetIds)) this.assigned = answer.agent.targetIds;
    return answer;
  }

  private async myTargets(agentId: string, signal: AbortSignal): Promise<ApiTarget[]> {
    let listed: ApiTarget[] = [];
    try {
      listed = (await this.options.session.api.listTargets(signal)).filter((t) => t.agentId === agentId);
      this.listWarned = false;
    } catch (error) {
      if (error instanceof AgentApiError && error.status === 401) throw error;
      // The report still goes out for the targets this agent knows; the listing is tried again next beat.
      if (!this.listWarned) this.options.log.warn({ err: (error as Error).message }, 'could not list targets; reporting the ones this agent knows');
      this.listWarned = true;
    }
    const known = new Set(listed.map((t) => t.id));
    for (const id of this.assigned) {
      if (known.has(id)) continue;
      const record = this.options.records.get(id);
      listed.push({ id, name: record?.name ?? id, environmentId: '', agentId, labels: {}, healthCheck: record?.healthCheck ?? null });
      known.add(id);
    }
    return listed;
  }
}

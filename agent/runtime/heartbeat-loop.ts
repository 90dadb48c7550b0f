import type { AgentRouter } from '../../domain/traffic';
import type { Logger } from '../../platform/logger';
import { AgentApiError, type ApiTarget, type HeartbeatAnswer, type LostTarget } from './api-client';
import { AGENT_CAPABILITIES, AGENT_VERSION, IdentityRefused, type AgentSession } from './session';
import { reportTargets, type TargetRecords } from './target-reports';

export interface HeartbeatLoopOptions {
  session: AgentSession;
  records: TargetRecords;
  log: Logger;
  /** The interval; read before every wait, so the one a new registration names takes effect. */
  intervalMs: () => number;
  /** The router the agent drives, reported every beat (null: none), so the API shows what runs now. */
  router?: AgentRouter | null;
  /** What the agent reports it can do (session.ts's capabilitiesOf); absent: the fixed list. */
  capabilities?: string[];
  /**
   * The API refused the agent's credential (revoked, deleted): the loop has stopped, and the agent must stop too,
   * polling nothing more. Called once; the refusal's message is the one line to print.
   */
  onIdentityRefused?: (refusal: IdentityRefused) => void;
}

/**
 * Tells the API the agent is alive and what each of its targets runs. Its targets are the tenant's targets naming
 * this agent (read again every beat), plus any the API listed for it at the last beat and this agent remembers.
 * A target the API says another agent took is dropped at once, with a warning.
 */
export class HeartbeatLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private failing = false;
  private listWarned = false;
  private assigned: string[] = [];
  private refusal: IdentityRefused | undefined;
  private readonly stopper = new AbortController();

  constructor(private readonly options: HeartbeatLoopOptions) {}

  /** One heartbeat; a refused credential rejects with IdentityRefused (never a new registration). */
  async beat(): Promise<HeartbeatAnswer> {
    if (this.refusal) throw this.refusal;
    try {
      return await this.send();
    } catch (error) {
      if (!(error instanceof AgentApiError) || error.status !== 401) throw error;
      this.refusal = this.options.session.refused(error);
      throw this.refusal;
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
          if (error instanceof IdentityRefused) {
            this.running = false;
            this.options.onIdentityRefused?.(error);
            return;
          }
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
    const answer = await session.api.heartbeat({ version: AGENT_VERSION, capabilities: this.options.capabilities ?? AGENT_CAPABILITIES, targets: await reportTargets(targets, records, signal), router: this.options.router ?? null }, signal);
    if (Array.isArray(answer?.agent?.targetIds)) this.assigned = answer.agent.targetIds;
    this.dropLost(answer?.lostTargets);
    return answer;
  }

  /** Targets another agent's registration took: this agent no longer reports (or owns) them. */
  private dropLost(lost: LostTarget[] | undefined): void {
    if (!Array.isArray(lost) || lost.length === 0) return;
    const gone = new Set(lost.map((t) => t.targetId));
    this.assigned = this.assigned.filter((id) => !gone.has(id));
    for (const t of lost) {
      this.options.log.warn(
        { targetId: t.targetId, target: t.targetName, takenBy: t.takenByAgentName, takenByAgentId: t.takenByAgentId, takenAt: t.takenAt },
        `target ${t.targetName} was taken over by agent ${t.takenByAgentName}: this agent no longer reports or deploys it`,
      );
    }
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

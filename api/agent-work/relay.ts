import { randomUUID } from 'node:crypto';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { AgentActivity, DeliveryInputs, WorkMessage } from '../../domain/deployments/deliveries';
import { agentTaskQueue } from '../../domain/deployments/model';
import type { Config } from '../../platform/config';
import type { Pool } from '../../platform/db';
import type { Logger } from '../../platform/logger';
import { connectionOptions, temporalConnection } from '../../platform/temporal-connection';
import { insertDelivery, unacknowledgedDeliveries } from './deliveries';

/**
 * Tasks reach agents through the API, never from Temporal directly: an agent
 * host holds only its own Tollgate credential, so it can read no history,
 * list no workflow and poll no other agent's queue (issue: zero-trust agents).
 *
 * While an agent's work channel (WS /agents/{id}/work) is open on this
 * replica, the replica runs a Temporal worker on that agent's queue
 * `agent-<id>`. Its activities do not run the task: they record a delivery
 * (with the task token, which stays here) and hand the task to the agent,
 * then leave the activity to be completed asynchronously. The agent's
 * heartbeats and its result come back over HTTP to any replica, which
 * heartbeats or completes the activity with the stored token
 * (api/agent-work/completion.ts). So the workflow is unchanged: the same
 * activity types on the same queue, with the same timeouts — no poller while
 * the agent is away means schedule-to-start fires (AGENT_OFFLINE), missing
 * heartbeats mean AGENT_LOST — and a task survives the replica that handed it
 * over: the agent keeps heartbeating through whichever replica answers.
 */
export interface AgentChannel {
  readonly open: boolean;
  send(message: WorkMessage): Promise<void>;
  close(code: number, reason: string): void;
}

export interface AgentRef {
  tenantId: string;
  agentId: string;
  name: string;
}

export interface RelayDeps {
  config: Config;
  pool: Pool;
  log: Logger;
  dataConverter: DataConverter;
}

class Session {
  private worker?: Worker;
  private running?: Promise<void>;
  private closed = false;

  constructor(
    readonly agent: AgentRef,
    readonly channel: AgentChannel,
    private readonly deps: RelayDeps,
  ) {}

  async start(connection: NativeConnection): Promise<void> {
    const { config, log } = this.deps;
    this.worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: agentTaskQueue(this.agent.agentId),
      dataConverter: this.deps.dataConverter,
      activities: {
        deployTarget: (input: DeliveryInputs['deployTarget']) => this.deliver('deployTarget', input),
        checkTargetHealth: (input: DeliveryInputs['checkTargetHealth']) => this.deliver('checkTargetHealth', input),
        setTraffic: (input: DeliveryInputs['setTraffic']) => this.deliver('setTraffic', input),
        readTraffic: (input: DeliveryInputs['readTraffic']) => this.deliver('readTraffic', input),
        routerStats: (input: DeliveryInputs['routerStats']) => this.deliver('routerStats', input),
        probeHttp: (input: DeliveryInputs['probeHttp']) => this.deliver('probeHttp', input),
        runScript: (input: DeliveryInputs['runScript']) => this.deliver('runScript', input),
      },
      identity: `tollgate-api/${this.agent.name}`,
      // A delivery ends its activity at once (completed later): slots are free again in milliseconds.
      maxConcurrentActivityTaskExecutions: 50,
      shutdownGraceTime: '5s',
    });
    if (this.closed) return;
    this.running = this.worker.run().catch((err) => {
      log.error({ err, agentId: this.agent.agentId }, 'agent work channel: the relay worker failed');
      this.channel.close(1011, 'the task relay failed; reconnect');
    });
    await this.channel.send({ type: 'ready', agentId: this.agent.agentId });
    for (const d of await unacknowledgedDeliveries(this.deps.pool, this.agent.tenantId, this.agent.agentId)) {
      await this.channel.send({ type: 'task', deliveryId: d.id, activity: d.activity, input: d.input, attempt: d.attempt, startToCloseTimeoutMs: d.startToCloseTimeoutMs, heartbeatTimeoutMs: d.heartbeatTimeoutMs });
    }
  }

  /** The activity body on `agent-<id>`: hand the task to the agent; its result completes the activity later. */
  private async deliver<A extends AgentActivity>(activity: A, input: DeliveryInputs[A]): Promise<never> {
    const { info } = Context.current();
    if (input.tenantId !== this.agent.tenantId) throw new Error(`a task of tenant ${input.tenantId} on the queue of an agent of tenant ${this.agent.tenantId}`);
    const deliveryId = randomUUID();
    await insertDelivery(this.deps.pool, {
      tenantId: this.agent.tenantId,
      id: deliveryId,
      agentId: this.agent.agentId,
      activity,
      taskToken: info.taskToken,
      input,
      attempt: info.attempt,
      startToCloseTimeoutMs: info.startToCloseTimeoutMs ?? null,
      heartbeatTimeoutMs: info.heartbeatTimeoutMs ?? null,
      workflowId: info.workflowExecution?.workflowId ?? '',
    });
    // A channel that closed meanwhile: the delivery is handed over again when the agent reconnects.
    if (this.channel.open) {
      await this.channel
        .send({ type: 'task', deliveryId, activity, input, attempt: info.attempt, startToCloseTimeoutMs: info.startToCloseTimeoutMs ?? null, heartbeatTimeoutMs: info.heartbeatTimeoutMs ?? null })
        .catch(() => undefined);
    }
    throw new CompleteAsyncError();
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.worker?.getState() === 'RUNNING') this.worker.shutdown();
    await this.running;
  }
}

export class AgentWorkRelay {
  private connection?: Promise<NativeConnection>;
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  constructor(private readonly deps: RelayDeps) {}

  /** How many agents this replica relays for (health, tests). */
  get size(): number {
    return this.sessions.size;
  }

  /** Whether this replica polls the agent's queue now (its work channel is open here). */
  relaying(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  /**
   * Starts polling the agent's queue for `channel`. A newer channel of the
   * same agent on this replica replaces the older one (closed with 4000).
   * Rejects when Temporal cannot be reached: the caller closes the channel
   * and the agent reconnects with backoff.
   */
  async attach(agent: AgentRef, channel: AgentChannel): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('the agent work relay is closed');
    const previous = this.sessions.get(agent.agentId);
    const session = new Session(agent, channel, this.deps);
    this.sessions.set(agent.agentId, session);
    if (previous) {
      previous.channel.close(4000, 'replaced by a newer connection of the same agent');
      await previous.stop();
    }
    const detach = async () => {
      if (this.sessions.get(agent.agentId) === session) this.sessions.delete(agent.agentId);
      await session.stop();
    };
    try {
      await session.start(await this.nativeConnection());
    } catch (err) {
      await detach();
      throw err;
    }
    return detach;
  }

  async close(): Promise<void> {
    this.closed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.stop()));
    const connection = await this.connection?.catch(() => undefined);
    await connection?.close().catch(() => undefined);
  }

  private nativeConnection(): Promise<NativeConnection> {
    if (!this.connection) {
      this.connection = NativeConnection.connect(connectionOptions(temporalConnection(this.deps.config))).catch((err) => {
        this.connection = undefined;
        throw err;
      });
    }
    return this.connection;
  }
}

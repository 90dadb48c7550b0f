import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import WebSocket from 'ws';
import type { AgentActivity, DeliveryInputs, DeliveryResult, DeliveryResults, WorkMessage } from '../../domain/deployments/deliveries';
import { storableCopy } from '../../domain/text';
import type { Logger } from '../../platform/logger';
import { AgentApiError, type AgentApiClient } from './api-client';
import { retryTransient } from './retry';

/**
 * The agent's end of the work channel (api/agent-work/relay.ts on the API's):
 * a WebSocket to `/agents/{id}/work` over which the API hands it tasks. The
 * agent holds no Temporal access at all: it heartbeats each task and reports
 * its result over HTTP with its own credential, and learns of a cancellation
 * from the heartbeat's answer. The connection is kept open, reconnecting with
 * backoff; a task already running carries on while it reconnects.
 */

/** What a task sees of its run: the part of Temporal's activity context the agent's activities use. */
export interface TaskContext {
  heartbeat(details?: unknown): void;
  readonly cancellationSignal: AbortSignal;
  /** The delivery this task came as: what the task's own uploads (a script's lines and artifacts) are addressed by. */
  readonly deliveryId?: string;
  readonly info: { readonly attempt: number; readonly startToCloseTimeoutMs?: number; readonly heartbeatTimeoutMs?: number };
}

export type WorkActivities = {
  [A in AgentActivity]: (input: DeliveryInputs[A], ctx: TaskContext) => Promise<DeliveryResults[A]>;
};

export interface WorkChannelOptions {
  api: Pick<AgentApiClient, 'heartbeatDelivery' | 'completeDelivery' | 'workChannel'>;
  activities: WorkActivities;
  log: Logger;
  /** Tasks run at once; more wait (heartbeating) for a free slot. */
  maxConcurrent?: number;
}

type TaskMessage = Extract<WorkMessage, { type: 'task' }>;

interface RunningTask {
  controller: AbortController;
  /** The latest heartbeat details the task gave. */
  details: unknown;
  /** Temporal no longer waits for it (timed out, or its delivery is unknown): no result is sent. */
  gone: boolean;
  done: Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;
/** A heartbeat at least this often, and often enough for the task's heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 1_000;

export class WorkChannel {
  private socket?: WebSocket;
  private stopping = false;
  private ready = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly tasks = new Map<string, RunningTask>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly options: WorkChannelOptions) {}

  /** Whether the API has confirmed the channel (it polls the agent's queue). */
  get connected(): boolean {
    return this.ready;
  }

  get runningTasks(): number {
    return this.tasks.size;
  }

  start(): void {
    this.connect();
  }

  /** Drops the connection and opens a new one (a new identity); running tasks carry on. */
  reconnect(): void {
    if (this.stopping) return;
    const previous = this.socket;
    this.socket = undefined;
    this.ready = false;
    previous?.terminate();
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Resolves once the API confirmed the channel, or after `timeoutMs`. */
  untilReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.ready), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Stops taking tasks (the channel closes, so the API stops polling for this
   * agent), lets running tasks finish for `graceMs`, then cancels the rest;
   * each reports how it ended before this resolves.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1001, 'agent stopping');
    const all = () => Promise.all([...this.tasks.values()].map((t) => t.done));
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([all().then(() => 'done' as const), timer])) === 'timeout') {
      for (const task of this.tasks.values()) task.controller.abort(new CancelledFailure('the agent is stopping'));
      await all();
    }
    this.socket?.terminate();
  }

  private connect(): void {
    if (this.stopping) return;
    let target: { url: string; credential: string };
    try {
      target = this.options.api.workChannel();
    } catch (error) {
      this.options.log.warn({ err: describe(error) }, 'work channel: no credential yet');
      return this.retryLater();
    }
    const socket = new WebSocket(target.url, { headers: { Authorization: `Bearer ${target.credential}`, 'User-Agent': 'tollgate-agent' }, handshakeTimeout: 10_000 });
    this.socket = socket;
    socket.on('message', (data) => this.onMessage(String(data)));
    socket.on('unexpected-response', (_req, res) => {
      // Refused before the upgrade (401 revoked, 404 deleted, 503 …): the heartbeat loop decides what that means for the agent.
      this.options.log.warn({ status: res.statusCode }, 'work channel: the API refused the connection');
      res.resume();
      socket.terminate();
    });
    socket.on('error', (err) => {
      if (this.failures === 0) this.options.log.warn({ err: err.message }, 'work channel: connection failed; retrying');
    });
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      const wasReady = this.ready;
      this.ready = false;
      if (this.stopping) return;
      if (wasReady) this.options.log.warn({ code, reason: String(reason) }, 'work channel closed; reconnecting');
      this.retryLater();
    });
  }

  private retryLater(): void {
    if (this.stopping) return;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.failures, 8)) * (0.5 + Math.random() / 2);
    this.failures++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private onMessage(text: string): void {
    let message: WorkMessage;
    try {
      message = JSON.parse(text) as WorkMessage;
    } catch {
      this.options.log.warn({ text: text.slice(0, 200) }, 'work channel: a message that is not JSON was ignored');
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      this.failures = 0;
      this.options.log.info({ agentId: message.agentId }, 'work channel ready: tasks are relayed to this agent');
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const w of waiters) w();
    } else if (message.type === 'task') {
      if (this.stopping || this.tasks.has(message.deliveryId)) return;
      this.run(message);
    }
  }

  private run(message: TaskMessage): void {
    const controller = new AbortController();
    const task: RunningTask = { controller, details: { stage: 'waiting for a free slot' }, gone: false, done: Promise.resolve() };
    this.tasks.set(message.deliveryId, task);
    task.done = this.execute(message, task).finally(() => this.tasks.delete(message.deliveryId));
  }

  private async execute(message: TaskMessage, task: RunningTask): Promise<void> {
    const { api, log } = this.options;
    const id = message.deliveryId;
    const every = Math.max(200, Math.min(HEARTBEAT_EVERY_MS, Math.floor((message.heartbeatTimeoutMs ?? 3 * HEARTBEAT_EVERY_MS) / 3)));
    let beating = true;
    const beat = async () => {
      try {
        const answer = await api.heartbeatDelivery(id, storableCopy(task.details));
        if (answer.cancelRequested && !task.controller.signal.aborted) task.controller.abort(new CancelledFailure('CANCELLED'));
      } catch (error) {
        if (error instanceof AgentApiError && (error.status === 404 || error.status === 410)) {
          task.gone = true;
          if (!task.controller.signal.aborted) task.controller.abort(new CancelledFailure(`the task has ended in Temporal (${error.code})`));
        }
        // Anything else is passing (the API restarting, a replica away): the next beat tries again.
      }
    };
    // The pause between beats ends early when the task does: its result goes out at once, not after the next tick.
    let wake = () => undefined as void;
    const heartbeats = (async () => {
      while (beating) {
        await beat();
        if (!beating) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, every);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();

    let body: DeliveryResult;
    try {
      await this.slot(task.controller.signal);
      try {
        const ctx: TaskContext = {
          heartbeat: (details) => (task.details = details),
          cancellationSignal: task.controller.signal,
          deliveryId: id,
          info: { attempt: message.attempt, startToCloseTimeoutMs: message.startToCloseTimeoutMs ?? undefined, heartbeatTimeoutMs: message.heartbeatTimeoutMs ?? undefined },
        };
        const activity = this.options.activities[message.activity] as (input: unknown, ctx: TaskContext) => Promise<unknown>;
        const result = await activity(message.input, ctx);
        body = { status: 'completed', result: result as Extract<DeliveryResult, { status: 'completed' }>['result'] };
      } finally {
        this.release();
      }
    } catch (error) {
      body = task.controller.signal.aborted ? { status: 'cancelled', ...cancelDetails(error) } : { status: 'failed', error: failureOf(error) };
    } finally {
      beating = false;
      wake();
    }
    await heartbeats;
    if (task.gone) {
      log.info({ deliveryId: id, status: body.status }, 'task ended after Temporal gave it up: its result is not reported');
      return;
    }
    const deadline = Date.now() + Math.max(60_000, message.startToCloseTimeoutMs ?? 0);
    // Errors quote what targets and hooks said: kept, made storable (the API refuses NUL and lone surrogates).
    const report = storableCopy(body);
    try {
      await retryTransient(() => api.completeDelivery(id, report), { deadline, maxDelayMs: 2_000 });
    } catch (error) {
      log.error({ deliveryId: id, status: body.status, err: describe(error) }, 'the task’s result could not be reported');
    }
  }

  private async slot(signal: AbortSignal): Promise<void> {
    if (this.active < (this.options.maxConcurrent ?? 20)) {
      this.active++;
      return;
    }
    // Handed a slot by release() (the count stays), or given up when the task is cancelled while it waits.
    await new Promise<void>((resolve, reject) => {
      const entry = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      this.waiting.push(entry);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

function cancelDetails(error: unknown): { details?: Record<string, unknown> } {
  const first = error instanceof CancelledFailure ? error.details?.[0] : undefined;
  return first && typeof first === 'object' && !Array.isArray(first) ? { details: first as Record<string, unknown> } : {};
}

function failureOf(error: unknown): { message: string; type?: string; nonRetryable?: boolean } {
  if (error instanceof ApplicationFailure) return { message: error.message || 'the agent failed the task', ...(error.type ? { type: error.type } : {}), nonRetryable: error.nonRetryable ?? false };
  if (error instanceof Error) return { message: error.message || error.name, type: error.name };
  return { message: String(error) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

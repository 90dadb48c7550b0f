import type { DeploymentTask } from '../../../domain/deployments/model';
import type { Pool } from '../../../platform/db';
import type { Logger } from '../../../platform/logger';
import type { DeploymentEvent } from '../../realtime/deployment-events';
import type { DeploymentEventHub } from '../../realtime/hub';
import { watchCredential, type StreamCredential } from '../../realtime/credential-watch';
import type { StreamSocket } from '../../realtime/stream-socket';
import { isTaskFinished, readLog } from './deployments.queries';

/**
 * What the job stream and the agent task stream share. An event only says
 * what moved; the stream reads the rows and sends what the client has not
 * seen: a task whose state changed, the log text past the last offset sent
 * for that task. Events mark what to read and one loop reads it, so a burst
 * of NOTIFYs (a chatty hook logs line by line) costs one read per task, and
 * messages leave in the order they were read.
 */

export interface StreamDeps {
  pool: Pool;
  hub: DeploymentEventHub;
  log: Logger;
}

/** `start`: each task's log from its beginning; `now`: only what is logged after the client connected. */
export type LogsFrom = 'start' | 'now';

/** Characters of log per message. */
const LOG_MESSAGE_CHARS = 65_536;

export interface Pending {
  all: boolean;
  job: boolean;
  artifacts: boolean;
  tasks: Set<string>;
  logs: Set<string>;
}

const nothing = (): Pending => ({ all: false, job: false, artifacts: false, tasks: new Set(), logs: new Set() });

export abstract class LiveStream {
  protected pending = nothing();
  /** What was last sent of each task (its version and the fields agents change without one). */
  private readonly sentTasks = new Map<string, string>();
  /** Last known state of each task, for whether its log can still grow. */
  protected readonly tasks = new Map<string, DeploymentTask>();
  protected readonly logOffsets = new Map<string, number>();
  private running = false;
  private started = false;
  protected stopped = false;
  private unsubscribe?: () => void;
  private unwatch?: () => void;

  constructor(
    protected readonly deps: StreamDeps,
    protected readonly tenantId: string,
    protected readonly socket: StreamSocket,
    protected readonly logsFrom: LogsFrom,
  ) {}

  /** Listens first and reads second, so nothing written in between is missed. */
  async start(): Promise<void> {
    const unsubscribe = await this.deps.hub.subscribe({
      tenantId: this.tenantId,
      onEvent: (event) => this.onEvent(event),
      onResync: () => this.mark((p) => (p.all = true)),
    });
    if (this.stopped) {
      unsubscribe();
      return;
    }
    this.unsubscribe = unsubscribe;
    try {
      await this.snapshot();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.started = true;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * Ends the stream with 1008 (policy violation) once the credential that opened it no longer holds: an agent
   * revoked or deleted, a token past its exp. What the socket was allowed to see was decided at the upgrade;
   * this keeps that decision from outliving the credential it was made for.
   */
  guardCredential(credential: StreamCredential): void {
    if (this.stopped) return;
    this.unwatch?.();
    this.unwatch = watchCredential(credential, {
      onEnded: (reason) => {
        this.deps.log.info({ reason }, 'live deployment stream closed: its credential no longer holds');
        this.socket.close(1008, reason);
        this.stop();
      },
      onRecheckFailed: (err) => this.deps.log.warn({ err }, 'live deployment stream: could not recheck its credential; trying again'),
    });
  }

  protected abstract snapshot(): Promise<void>;
  protected abstract onEvent(event: DeploymentEvent): void;
  /** Reads and sends what `work` marks; answers whether the stream is done (then it closes with 1000). */
  protected abstract process(work: Pending): Promise<boolean>;

  protected mark(change: (p: Pending) => void): void {
    change(this.pending);
    this.schedule();
  }

  /** Remembers tasks as the snapshot showed them: their logs start at 0, or where they are now. */
  protected seen(tasks: DeploymentTask[]): void {
    for (const task of tasks) {
      this.sentTasks.set(task.id, fingerprint(task));
      this.tasks.set(task.id, task);
      this.logOffsets.set(task.id, this.logsFrom === 'now' ? task.log.size : 0);
      if (this.logsFrom === 'start' && task.log.size > 0) this.pending.logs.add(task.id);
    }
  }

  protected async sendTaskIfChanged(task: DeploymentTask): Promise<void> {
    this.tasks.set(task.id, task);
    const print = fingerprint(task);
    if (this.sentTasks.get(task.id) === print) return;
    this.sentTasks.set(task.id, print);
    await this.socket.send({ type: 'task', task });
  }

  /** Sends the task's log past the last offset sent, in messages of at most LOG_MESSAGE_CHARS. */
  protected async sendLog(taskId: string): Promise<void> {
    const finished = this.tasks.has(taskId) && isTaskFinished(this.tasks.get(taskId)!);
    for (;;) {
      const offset = this.logOffsets.get(taskId) ?? 0;
      const slice = await readLog(this.deps.pool, this.tenantId, taskId, offset, LOG_MESSAGE_CHARS, finished);
      if (slice.nextOffset === offset || this.stopped) return;
      this.logOffsets.set(taskId, slice.nextOffset);
      // Past the cap, data holds a marker line where the dropped text was: offset is where it starts, not its length back.
      await this.socket.send({ type: 'log', taskId, offset: slice.offset, data: slice.data });
      if (!slice.more) return;
    }
  }

  /** Drops what the stream keeps of a task it will not send again. */
  protected forget(taskId: string): void {
    this.tasks.delete(taskId);
    this.sentTasks.delete(taskId);
    this.logOffsets.delete(taskId);
  }

  private schedule(): void {
    if (!this.started || this.running || this.stopped) return;
    this.running = true;
    void this.pump()
      .catch((err) => this.fail(err))
      .finally(() => {
        this.running = false;
        if (!this.stopped && hasWork(this.pending)) this.schedule();
      });
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.socket.open && hasWork(this.pending)) {
      const work = this.pending;
      this.pending = nothing();
      const done = await this.process(work);
      if (done && !hasWork(this.pending)) {
        this.socket.close(1000, 'finished');
        this.stop();
      }
    }
  }

  private fail(err: unknown): void {
    this.deps.log.warn({ err }, 'live deployment stream failed');
    // 1011: the server met a condition that kept it from going on; the client may reconnect and resume from a snapshot.
    this.socket.close(1011, 'stream failed; reconnect');
    this.stop();
  }
}

const fingerprint = (task: DeploymentTask) => `${task.version}|${task.status}|${task.stoppedBy ?? ''}|${task.log.capped}`;
const hasWork = (p: Pending) => p.all || p.job || p.artifacts || p.tasks.size > 0 || p.logs.size > 0;

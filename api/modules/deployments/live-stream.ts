import type { DeploymentTask } from '../../../domain/deployments/model';
import type { DeploymentEvent } from '../../realtime/deployment-events';
import { MarkedStream, type StreamDeps } from '../../realtime/marked-stream';
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

export type { StreamDeps };

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

export abstract class LiveStream extends MarkedStream<Pending> {
  /** What was last sent of each task (its version and the fields agents change without one). */
  private readonly sentTasks = new Map<string, string>();
  /** Last known state of each task, for whether its log can still grow. */
  protected readonly tasks = new Map<string, DeploymentTask>();
  protected readonly logOffsets = new Map<string, number>();

  constructor(
    deps: StreamDeps,
    tenantId: string,
    socket: StreamSocket,
    protected readonly logsFrom: LogsFrom,
  ) {
    super(deps, tenantId, socket, 'live deployment stream');
  }

  protected nothing(): Pending {
    return nothing();
  }

  protected hasWork(p: Pending): boolean {
    return hasWork(p);
  }

  protected listeners() {
    return { onEvent: (event: DeploymentEvent) => this.onEvent(event) };
  }

  protected markAll(p: Pending): void {
    p.all = true;
  }

  protected abstract onEvent(event: DeploymentEvent): void;

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
}

const fingerprint = (task: DeploymentTask) => `${task.version}|${task.status}|${task.stoppedBy ?? ''}|${task.log.capped}`;
const hasWork = (p: Pending) => p.all || p.job || p.artifacts || p.tasks.size > 0 || p.logs.size > 0;

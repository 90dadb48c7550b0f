import type { DeploymentEvent } from '../../realtime/deployment-events';
import type { StreamSocket } from '../../realtime/stream-socket';
import type { DeploymentTask } from '../../../domain/deployments/model';
import { findTaskById, isTaskFinished, tasksOfAgent } from './deployments.queries';
import { LiveStream, type LogsFrom, type Pending, type StreamDeps } from './live-stream';

/**
 * WS /agents/{id}/task-stream: the tasks one agent runs, whatever job they
 * belong to. `{type:'snapshot', agentId, tasks}` (its unfinished tasks) first,
 * then `task` and `log` messages. An event that does not name its agent is
 * checked against the task's row once, and the answer remembered. An agent's
 * stream may stay open for days: a task is let go once its final state and
 * log are sent, and what is remembered about others' tasks is bounded.
 */
export class AgentTaskStream extends LiveStream {
  /** Whose each task is, as far as this stream has looked (a task not assigned yet is looked at again). */
  private readonly owner = new Map<string, string>();
  /** This agent's tasks whose end was sent: later events about them are old news. */
  private readonly ended = new Set<string>();

  constructor(
    deps: StreamDeps,
    tenantId: string,
    socket: StreamSocket,
    logsFrom: LogsFrom,
    private readonly agentId: string,
  ) {
    super(deps, tenantId, socket, logsFrom);
  }

  protected async snapshot(): Promise<void> {
    const tasks = await tasksOfAgent(this.deps.pool, this.tenantId, this.agentId, true);
    for (const task of tasks) this.own(task);
    this.seen(tasks);
    await this.socket.send({ type: 'snapshot', agentId: this.agentId, tasks });
  }

  protected onEvent(event: DeploymentEvent): void {
    if ((event.kind !== 'task' && event.kind !== 'log') || !event.taskId) return;
    const agentId = event.agentId ?? this.owner.get(event.taskId);
    // Named for another agent, or known to be another's: not ours. Unknown: the row tells.
    if (agentId !== undefined && agentId !== this.agentId) return;
    const taskId = event.taskId;
    if (this.ended.has(taskId)) return;
    this.mark((p) => (event.kind === 'task' ? p.tasks.add(taskId) : p.logs.add(taskId)));
  }

  protected async process(work: Pending): Promise<boolean> {
    const { pool } = this.deps;
    if (work.all) {
      // What it runs now, and what it ran when last seen (those may have ended meanwhile).
      const current = await tasksOfAgent(pool, this.tenantId, this.agentId, true);
      const ids = new Set([...current.map((t) => t.id), ...this.tasks.keys()]);
      for (const taskId of ids) await this.follow(taskId, true, true);
      return false;
    }
    for (const taskId of new Set([...work.tasks, ...work.logs])) await this.follow(taskId, work.tasks.has(taskId), work.logs.has(taskId));
    return false;
  }

  private async follow(taskId: string, taskMoved: boolean, logGrew: boolean): Promise<void> {
    const known = this.tasks.get(taskId);
    let task: DeploymentTask | undefined = known;
    if (taskMoved || !known) {
      task = await findTaskById(this.deps.pool, this.tenantId, taskId);
      if (!task) return;
      this.own(task);
      if (task.agentId !== this.agentId) return;
      await this.sendTaskIfChanged(task);
    }
    if (logGrew || !known) await this.sendLog(taskId);
    if (task && isTaskFinished(task)) {
      this.forget(taskId);
      remember(this.ended, taskId);
    }
  }

  private own(task: { id: string; agentId: string | null }): void {
    if (task.agentId) remember(this.owner, task.id, task.agentId);
  }
}

const REMEMBERED = 10_000;

/** Adds to a Set or Map, forgetting the oldest entry past REMEMBERED (insertion order is age). */
function remember(into: Set<string>, key: string): void;
function remember(into: Map<string, string>, key: string, value: string): void;
function remember(into: Set<string> | Map<string, string>, key: string, value?: string): void {
  into.delete(key);
  if (into instanceof Map) into.set(key, value!);
  else into.add(key);
  if (into.size > REMEMBERED) into.delete(into.keys().next().value as string);
}

import { FINISHED_JOB_STATUSES, type DeploymentJob } from '../../../domain/deployments/model';
import type { DeploymentEvent } from '../../realtime/deployment-events';
import type { StreamSocket } from '../../realtime/stream-socket';
import { downloadUrl, findJob, findTask, listArtifacts, listTasks } from './deployments.queries';
import { LiveStream, type LogsFrom, type Pending, type StreamDeps } from './live-stream';

/**
 * WS /deployment-jobs/{id}/stream: `{type:'snapshot', job, tasks}` first, then
 * `job`, `task`, `log` and `artifact` messages as the job moves. Once the job
 * has finished, one last full read sends whatever was written just before its
 * final state, then the final state, and the socket closes with 1000.
 */
export class JobStream extends LiveStream {
  private jobVersion = -1;
  private readonly sentArtifacts = new Set<string>();
  private finishing = false;

  constructor(
    deps: StreamDeps,
    tenantId: string,
    socket: StreamSocket,
    logsFrom: LogsFrom,
    private job: DeploymentJob,
    /** The dialect prefix the client connected under, for artifact download addresses. */
    private readonly prefix: string,
  ) {
    super(deps, tenantId, socket, logsFrom);
  }

  protected async snapshot(): Promise<void> {
    const { pool } = this.deps;
    // The job as the route found it when it has no row yet (its workflow answered instead).
    this.job = (await findJob(pool, this.tenantId, this.job.id)) ?? this.job;
    const tasks = await listTasks(pool, this.tenantId, this.job.id);
    this.jobVersion = this.job.version;
    this.seen(tasks);
    await this.socket.send({ type: 'snapshot', job: this.job, tasks });
    if (this.logsFrom === 'now') for (const a of await listArtifacts(pool, this.tenantId, this.job.id)) this.sentArtifacts.add(artifactKey(a));
    else this.pending.artifacts = true;
    if (isFinished(this.job)) this.pending.job = true;
  }

  protected onEvent(event: DeploymentEvent): void {
    if (event.jobId !== this.job.id) return;
    this.mark((p) => {
      if (event.kind === 'job') p.job = true;
      else if (event.kind === 'artifact') p.artifacts = true;
      else if (!event.taskId) p.all = true;
      else if (event.kind === 'task') p.tasks.add(event.taskId);
      else p.logs.add(event.taskId);
    });
  }

  // Tasks, logs and artifacts before the job, so a job's final state is the last thing a client reads.
  protected async process(work: Pending): Promise<boolean> {
    const { pool } = this.deps;
    if (work.all) await this.sweep();
    else {
      for (const taskId of work.tasks) {
        const task = await findTask(pool, this.tenantId, this.job.id, taskId);
        if (task) await this.sendTaskIfChanged(task);
      }
      for (const taskId of work.logs) {
        // A log of a task not seen yet: read the task first, so the client has it before its lines.
        if (!this.tasks.has(taskId)) {
          const task = await findTask(pool, this.tenantId, this.job.id, taskId);
          if (!task) continue;
          await this.sendTaskIfChanged(task);
        }
        await this.sendLog(taskId);
      }
      if (work.artifacts) await this.sendArtifacts();
    }
    if (work.all || work.job) {
      const job = await findJob(pool, this.tenantId, this.job.id);
      if (job && isFinished(job) && !this.finishing) {
        // Read after the final state was written: whatever its tasks wrote just before goes out before it.
        this.finishing = true;
        await this.sweep();
      }
      if (job && job.version > this.jobVersion) {
        this.job = job;
        this.jobVersion = job.version;
        await this.socket.send({ type: 'job', job });
      }
    }
    return this.finishing;
  }

  private async sweep(): Promise<void> {
    for (const task of await listTasks(this.deps.pool, this.tenantId, this.job.id)) await this.sendTaskIfChanged(task);
    for (const taskId of this.tasks.keys()) await this.sendLog(taskId);
    await this.sendArtifacts();
  }

  private async sendArtifacts(): Promise<void> {
    for (const artifact of await listArtifacts(this.deps.pool, this.tenantId, this.job.id)) {
      // A file uploaded again under its name keeps its id and changes its content: that is news too.
      if (this.sentArtifacts.has(artifactKey(artifact))) continue;
      this.sentArtifacts.add(artifactKey(artifact));
      await this.socket.send({ type: 'artifact', artifact: { ...artifact, downloadUrl: downloadUrl(this.prefix, artifact, this.job.id) } });
    }
  }
}

const artifactKey = (a: { id: string; sha256: string }) => `${a.id}:${a.sha256}`;
const isFinished = (job: DeploymentJob) => FINISHED_JOB_STATUSES.includes(job.status);

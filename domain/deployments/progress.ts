import { uiDetails } from '../ui-details';
import { releaseLabel } from '../workflow-titles';
import { describeStrategy } from './strategy';
import { FINISHED_JOB_STATUSES, type DeploymentJob, type DeploymentTask, type JobProgress, type TaskPhase } from './model';

/**
 * Where a job stands, counted per target from the newest task of a phase
 * (a retried target counts once, by its last attempt), and how that reads in
 * the Temporal UI's current details.
 */

/** Each target's newest task of `phase`, by target id; `tasks` is in the order they were created. */
export function latestTasks(tasks: readonly DeploymentTask[], phase: TaskPhase): Map<string, DeploymentTask> {
  const latest = new Map<string, DeploymentTask>();
  for (const task of tasks) if (task.phase === phase) latest.set(task.targetId, task);
  return latest;
}

/** Counts over the job's targets: a target with no deploy task yet is pending; one whose task a cancel stopped is cancelled. */
export function jobProgress(targetIds: readonly string[], tasks: readonly DeploymentTask[]): JobProgress {
  const latest = latestTasks(tasks, 'deploy');
  const progress: JobProgress = { total: targetIds.length, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, running: 0, pending: 0 };
  for (const id of targetIds) {
    const status = latest.get(id)?.status;
    if (status === 'succeeded') progress.succeeded += 1;
    else if (status === 'failed') progress.failed += 1;
    else if (status === 'skipped') progress.skipped += 1;
    else if (status === 'cancelled') progress.cancelled += 1;
    else if (status === 'running') progress.running += 1;
    else progress.pending += 1;
  }
  return progress;
}

/** Targets that will not end healthy as things stand: failed or skipped (the minHealthy count). */
export const unhealthyCount = (progress: JobProgress) => progress.failed + progress.skipped;

export function progressText(progress: JobProgress): string {
  const done = progress.succeeded + progress.failed + progress.skipped + progress.cancelled;
  const extra = [
    progress.failed ? `${progress.failed} failed` : null,
    progress.skipped ? `${progress.skipped} skipped` : null,
    progress.cancelled ? `${progress.cancelled} cancelled` : null,
    progress.running ? `${progress.running} running` : null,
  ].filter(Boolean);
  return `${done}/${progress.total} targets done${extra.length ? `, ${extra.join(', ')}` : ''}`;
}

/** The rollback tasks' standing, when the job has any. */
export function rollbackText(tasks: readonly DeploymentTask[]): string | null {
  const latest = [...latestTasks(tasks, 'rollback').values()];
  if (latest.length === 0) return null;
  const done = latest.filter((t) => t.status === 'succeeded').length;
  const failed = latest.filter((t) => t.status === 'failed').length;
  const cancelled = latest.filter((t) => t.status === 'cancelled').length;
  return `rolled back ${done}/${latest.length} targets${failed ? `, ${failed} failed` : ''}${cancelled ? `, ${cancelled} cancelled` : ''}`;
}

/**
 * "**web-app 2.0.0 → production** · **running** · rolling, batches of 2, batch 2/4 · 3/8 targets done, 1 failed",
 * then what the job waits on or why it ended.
 */
export function jobDetails(job: DeploymentJob, tasks: readonly DeploymentTask[] = []): string {
  const head = [`**${releaseLabel(job.releaseName, job.releaseVersion)} → ${job.environmentName}**`, `**${job.status}**`];
  if (job.status !== 'queued') {
    head.push(`${describeStrategy(job.strategy)}${job.batch ? `, batch ${job.batch.index}/${job.batch.count}` : ''}`);
    head.push(progressText(job.progress));
    const rollback = rollbackText(tasks);
    if (rollback) head.push(rollback);
  }
  return uiDetails({
    state: head.join(' · '),
    missing: jobWaitsFor(job),
    // A job's only clocks are its hooks' own timeouts, shown on their activities.
    deadline: null,
    more: [job.statusReason && `Reason: ${job.statusReason}`, `Failure policy: ${job.failurePolicy}`],
  });
}

function jobWaitsFor(job: DeploymentJob): string | null {
  if (job.pausedOn) {
    const { targetName, error } = job.pausedOn;
    return `an operator to retry, skip, rollback or abort (paused on ${targetName}: ${error.code}: ${error.message})`;
  }
  if (job.status === 'queued') return job.queuePosition ? `the environment's deployment slot (position ${job.queuePosition})` : "the environment's deployment slot";
  if (FINISHED_JOB_STATUSES.includes(job.status)) return null;
  return 'its targets to finish';
}

/** Why a job that ran every batch ended deployed: the request's own reason, unless some targets did not end healthy. */
export function deployedReason(progress: JobProgress, requestReason: string | null): string | null {
  if (!unhealthyCount(progress)) return requestReason;
  const short = [progress.failed ? `${progress.failed} failed` : '', progress.skipped ? `${progress.skipped} skipped` : ''].filter(Boolean).join(', ');
  return `deployed to ${progress.succeeded} of ${progress.total} targets (${short})`;
}

/** Why a job whose selector matched no target ended deployed at once. */
export function noTargetReason(environmentName: string, labelSelector: Record<string, string>): string {
  const selector = Object.entries(labelSelector).map(([k, v]) => `${k}=${v}`);
  return `no target in ${environmentName}${selector.length ? ` matches ${selector.join(',')}` : ''}; nothing to deploy`;
}

/** What a queued job shows while it waits for the environment's slot. */
export function queuedReason(holderJobId: string | null, environmentName: string): string {
  return holderJobId ? `queued behind job ${holderJobId}` : `queued for ${environmentName}`;
}

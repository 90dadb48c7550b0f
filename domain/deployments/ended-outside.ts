import { endingText, type WorkflowEnding } from '../workflow-endings';
import type { DeploymentJob, DeploymentTask, JobStatus, TaskStatus } from './model';
import { FINISHED_JOB_STATUSES } from './model';
import { jobProgress } from './progress';

const UNFINISHED_TASK: readonly TaskStatus[] = ['pending', 'running'];

/**
 * A job whose workflow ended outside Tollgate is `cancelled` (cancelled in
 * Temporal; the job's own handler usually records that first) or `failed`, and
 * its unfinished tasks `cancelled`, since no run is left to finish them. No new
 * run takes a job over: its targets are wherever the agents left them, so an
 * operator deploys again or rolls back.
 */
export function markJobEnded(job: DeploymentJob, tasks: readonly DeploymentTask[], ending: WorkflowEnding, now: string): { job: DeploymentJob; tasks: DeploymentTask[] } | null {
  if ((FINISHED_JOB_STATUSES as readonly JobStatus[]).includes(job.status)) return null;
  const reason = endingText(ending);
  const stopped = tasks
    .filter((t) => UNFINISHED_TASK.includes(t.status))
    .map((t): DeploymentTask => ({ ...t, status: 'cancelled', finishedAt: ending.at, error: { code: 'WORKFLOW_ENDED_OUTSIDE', message: reason }, version: t.version + 1 }));
  const latest = tasks.map((t) => stopped.find((s) => s.id === t.id) ?? t);
  // Targets with no task yet stay pending: they were never started.
  const counted = jobProgress([...new Set(latest.map((t) => t.targetId))], latest);
  const progress = { ...counted, total: job.progress.total, pending: counted.pending + job.progress.total - counted.total };
  return {
    job: {
      ...job,
      status: ending.how === 'cancelled' ? 'cancelled' : 'failed',
      statusReason: reason,
      progress,
      pausedOn: null,
      queuePosition: null,
      finishedAt: ending.at,
      updatedAt: now,
      version: job.version + 1,
    },
    tasks: stopped,
  };
}

import type { DeploymentTask, JobStatus, TaskError } from './model';

/**
 * How a job that compensated for a failure ends. `rolled_back` promises that
 * the environment is back where it was, so it needs at least one target
 * actually returned: a job whose failures never touched a target (no agent,
 * an agent that never picked the task up) returned nothing, and neither did
 * one whose changed targets had no earlier release to go back to. Those end
 * `failed`, and the reason says that nothing was rolled back and why.
 */

export interface CompensationResult {
  /** Why the job compensated: the failure, or the operator's rollback decision. */
  reason: string | null;
  /** The rollback tasks run, as they ended. */
  rollbacks: readonly Pick<DeploymentTask, 'status' | 'targetName' | 'error'>[];
  /** Targets the job changed but could not return: no earlier release on record. */
  leftAsIs: readonly string[];
}

export interface JobEnd {
  status: Extract<JobStatus, 'rolled_back' | 'failed'>;
  statusReason: string;
}

export function compensationOutcome({ reason, rollbacks, leftAsIs }: CompensationResult): JobEnd {
  const left = leftAsIs.length ? `; left as is (no earlier release on record): ${leftAsIs.join(', ')}` : '';
  const unfinished = rollbacks.filter((t) => t.status !== 'succeeded');
  if (unfinished.length > 0) {
    const failures = unfinished.map((t) => `${t.targetName} (${describeTaskError(t.error)})`).join('; ');
    return { status: 'failed', statusReason: `rollback incomplete: ${failures}${left}${reason ? `; after ${reason}` : ''}` };
  }
  if (rollbacks.length === 0) {
    const nothing = leftAsIs.length ? 'nothing was rolled back' : 'no target was changed, so nothing was rolled back';
    return { status: 'failed', statusReason: `${reason ?? 'the job failed'}; ${nothing}${left}` };
  }
  const count = `rolled back ${rollbacks.length} target${rollbacks.length === 1 ? '' : 's'}`;
  return { status: 'rolled_back', statusReason: `${reason ?? 'rolled back'}; ${count}${left}` };
}

export function describeTaskError(error: TaskError | null): string {
  return error ? `${error.code}: ${error.message}` : 'failed';
}

import * as wf from '@temporalio/workflow';
import type { FailureDecisionCommand } from '../../domain/deployments/decisions';
import type { DeploymentTask } from '../../domain/deployments/model';
import { compensationOutcome, describeTaskError } from '../../domain/deployments/outcome';
import { jobProgress, unhealthyCount } from '../../domain/deployments/progress';
import { rollbackWork } from '../../domain/deployments/rollback';
import { toleratesFailures } from '../../domain/deployments/strategy';
import { hookFailedError } from '../../domain/deployments/task-errors';
import { reloadTarget } from './job-plan';
import type { JobRun } from './job-run';
import { runTasks } from './tasks';

/**
 * What a job does about failed tasks, whatever strategy ran them: tolerate
 * them within minHealthy; past it, roll every updated target back
 * (compensate), or pause for an operator to retry, skip, roll back or abort.
 */

/**
 * Applies the failure policy to a batch's failed tasks in turn; true when
 * that ended the job. A failure within minHealthy is tolerated and stays
 * failed; past it, the job rolls back, or pauses until an operator answers.
 */
export async function settleFailures(run: JobRun, failed: DeploymentTask[]): Promise<boolean> {
  for (const first of [...failed].sort((a, b) => (a.targetName < b.targetName ? -1 : a.targetName > b.targetName ? 1 : 0))) {
    let task = first;
    for (;;) {
      if (run.cancelling !== null || task.status === 'cancelled') {
        await run.finishCancelled();
        return true;
      }
      if (task.status !== 'failed') break;
      if (toleratesFailures(run.job!.strategy, run.targetIds().length, unhealthyCount(jobProgress(run.targetIds(), run.tasks())))) break;
      if (run.job!.failurePolicy === 'rollback') {
        await compensate(run, `${task.targetName} failed: ${describeTaskError(task.error)}`);
        return true;
      }
      const decision = await pauseOn(run, task);
      if (!decision) {
        await run.finishCancelled();
        return true;
      }
      if (decision.action === 'skip') break;
      // The update already recorded the abort: the job is failed and persisted.
      if (decision.action === 'abort') return true;
      if (decision.action === 'rollback') {
        await compensate(run, run.job!.statusReason);
        return true;
      }
      const attempt = task.attempt + 1;
      [task] = await runTasks(run, [{ target: await reloadTarget(run, task.targetId), release: run.plan!.release }], 'deploy', () => attempt);
    }
  }
  return false;
}

/** Waits, paused on the task, for an operator's answer; null when the job is cancelled instead. */
async function pauseOn(run: JobRun, task: DeploymentTask): Promise<FailureDecisionCommand | null> {
  run.answer = null;
  await run.commit({
    status: 'paused',
    pausedOn: { taskId: task.id, targetId: task.targetId, targetName: task.targetName, error: task.error ?? hookFailedError(task.exitCode) },
  });
  await wf.condition(() => run.answer !== null || run.cancelling !== null);
  const decided = run.answer;
  run.answer = null;
  return decided;
}

/**
 * Returns every target this job updated to the release its sticker named
 * before, all at once. A target with no earlier release is left as it is
 * and named in the reason. Only a job that returned at least one target
 * ends rolled_back (compensationOutcome): one whose failures touched
 * nothing ends failed.
 */
async function compensate(run: JobRun, reason: string | null): Promise<void> {
  await run.commit({ status: 'rolling_back', statusReason: reason, pausedOn: null });
  const { work, leftAsIs } = rollbackWork(run.tasks(), run.plan!);
  const done = work.length ? await runTasks(run, work, 'rollback', () => 1) : [];
  if (run.cancelling !== null) return run.finishCancelled();
  await run.commit({ ...compensationOutcome({ reason, rollbacks: done, leftAsIs }), finishedAt: run.now() });
}

import * as wf from '@temporalio/workflow';
import { checkCancel, checkFailureDecision, isFinished, type FailureDecisionCommand } from '../../domain/deployments/decisions';
import type { DeploymentTask } from '../../domain/deployments/model';
import { compensationOutcome, describeTaskError } from '../../domain/deployments/outcome';
import { deployedReason, jobProgress, unhealthyCount } from '../../domain/deployments/progress';
import { rollbackWork } from '../../domain/deployments/rollback';
import { planBatches, toleratesFailures } from '../../domain/deployments/strategy';
import { hookFailedError } from '../../domain/deployments/task-errors';
import { rethrowAsFailure } from '../failures';
import { JobRun, type JobRunInput } from './job-run';
import { createJob, refreshPlan, reloadTarget } from './job-plan';
import { runTasks } from './tasks';
import { releaseSlot, waitForSlot } from './slot-queue';
import { cancelDeploymentJob, decideDeploymentFailure, environmentSlotFreed, getDeploymentJob, type DeploymentJobWorkflowResult } from './messages';

export type { CarriedDeploymentJob } from './job-run';

/**
 * One deployment of a release to an environment's targets, by the agents that
 * own them: waits its turn for the environment, runs the strategy's batches
 * (one activity per target on its agent's queue), and on a failure beyond
 * minHealthy follows the job's policy — roll every updated target back to the
 * release its sticker names, or pause for an operator to retry, skip, roll
 * back or abort. Every change of the job or a task is persisted at once, so
 * the API's rows follow the workflow.
 */
export async function deploymentJob(input: JobRunInput): Promise<DeploymentJobWorkflowResult> {
  const run = new JobRun(input);

  wf.setHandler(getDeploymentJob, () => run.job);
  wf.setHandler(environmentSlotFreed, () => {
    run.slotFreed = true;
  });
  wf.setHandler(decideDeploymentFailure, (command, meta) => run.answerFailure(command, meta), {
    validator: (command, _meta) => rethrowAsFailure(() => checkFailureDecision(run.job, command)),
    description: 'Answer the failure a paused job waits on: retry the target, skip it, roll back, or abort',
  });
  wf.setHandler(cancelDeploymentJob, ({ reason }, meta) => run.cancel(reason, meta), {
    validator: (_body, _meta) => rethrowAsFailure(() => checkCancel(run.job)),
    description: 'Cancel the job: running hooks are stopped (SIGTERM, then SIGKILL), the rest never start',
  });

  // Cancelling the workflow itself (its promotion went away, or an operator in the Temporal UI) ends the job cancelled.
  wf.CancellationScope.current().cancelRequested.catch(() => {
    run.cancelling ??= 'cancelled: the workflow was cancelled';
  });

  run.publish();
  try {
    await drive(run);
  } catch (err) {
    if (!wf.isCancellation(err) || !run.job) throw err;
    await wf.CancellationScope.nonCancellable(() => run.finishCancelled());
  } finally {
    if (run.slotRequested && !run.continuing) await wf.CancellationScope.nonCancellable(() => releaseSlot(run));
  }
  if (run.continuing) {
    await wf.condition(wf.allHandlersFinished);
    return wf.continueAsNew<typeof deploymentJob>({ ...input, carried: { job: run.job!, plan: run.plan! } });
  }
  await wf.CancellationScope.nonCancellable(() => wf.condition(wf.allHandlersFinished));
  return { id: run.jobId, status: run.job!.status, statusReason: run.job!.statusReason };
}

async function drive(run: JobRun): Promise<void> {
  if (!run.job && !(await createJob(run))) return;
  if (isFinished(run.job!.status)) return;
  if (!(await waitForSlot(run))) return;
  if (run.waitedInQueue && !(await refreshPlan(run))) return;
  await deploy(run);
}

async function deploy(run: JobRun): Promise<void> {
  const batches = planBatches(run.plan!.targets, run.job!.strategy);
  await run.commit({ status: 'running', queuePosition: null, startedAt: run.job!.startedAt ?? run.now(), statusReason: run.input.reason ?? null, batch: { index: 1, count: batches.length } });
  for (let i = 0; i < batches.length; i += 1) {
    if (run.cancelling !== null) return run.finishCancelled();
    if (i > 0) await run.commit({ batch: { index: i + 1, count: batches.length } });
    const settled = await runTasks(
      run,
      batches[i].map((target) => ({ target, release: run.plan!.release })),
      'deploy',
      () => 1,
    );
    if (run.cancelling !== null) return run.finishCancelled();
    if (await settleFailures(run, settled.filter((t) => t.status === 'failed'))) return;
  }
  await run.commit({ status: 'deployed', finishedAt: run.now(), statusReason: deployedReason(jobProgress(run.targetIds(), run.tasks()), run.input.reason ?? null) });
}

/**
 * Applies the failure policy to a batch's failed tasks in turn; true when
 * that ended the job. A failure within minHealthy is tolerated and stays
 * failed; past it, the job rolls back, or pauses until an operator answers.
 */
async function settleFailures(run: JobRun, failed: DeploymentTask[]): Promise<boolean> {
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

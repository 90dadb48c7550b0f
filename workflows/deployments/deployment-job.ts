import * as wf from '@temporalio/workflow';
import { checkCancel, checkFailureDecision, isFinished } from '../../domain/deployments/decisions';
import { deployedReason, jobProgress } from '../../domain/deployments/progress';
import { planBatches } from '../../domain/deployments/strategy';
import { rethrowAsFailure } from '../failures';
import { JobRun, type JobRunInput } from './job-run';
import { createJob, refreshPlan } from './job-plan';
import { settleFailures } from './failure-policy';
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

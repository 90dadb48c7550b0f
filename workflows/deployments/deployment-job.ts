import * as wf from '@temporalio/workflow';
import { checkCancel, checkFailureDecision, isFinished } from '../../domain/deployments/decisions';
import type { Strategy } from '../../domain/deployments/model';
import { rethrowAsFailure } from '../failures';
import { deployInBatches } from './batched-rollout';
import { JobRun, type JobRunInput, type Rollout } from './job-run';
import { createJob, refreshPlan } from './job-plan';
import { releaseSlot, waitForSlot } from './slot-queue';
import { cancelDeploymentJob, decideDeploymentFailure, environmentSlotFreed, getDeploymentJob, type DeploymentJobWorkflowResult } from './messages';

export type { CarriedDeploymentJob } from './job-run';

/**
 * Each strategy's rollout, by the strategy's type. A new strategy (canary,
 * blue-green) arrives as one file beside batched-rollout.ts exporting a
 * `Rollout` over the same JobRun — its tasks through runTasks, its failures
 * through settleFailures —, its type added to STRATEGY_TYPES
 * (domain/inventory-fields.ts) and one line here. A type this worker does not
 * know rolls out all at once, as the batch planner always treated it.
 */
const ROLLOUTS: Record<Strategy['type'], Rollout> = {
  'all-at-once': deployInBatches,
  rolling: deployInBatches,
};

/**
 * One deployment of a release to an environment's targets, by the agents that
 * own them: waits its turn for the environment, runs the strategy's batches
 * (one activity per target on its agent's queue), and on a failure beyond
 * minHealthy follows the job's policy — roll every updated target back to the
 * release its sticker names, or pause for an operator to retry, skip, roll
 * back or abort. Every change of the job or a task is persisted at once, so
 * the API's rows follow the workflow.
 *
 * This file only wires the messages to the run and waits; the run's state and
 * persistence are job-run.ts, and each concern has its file: job-plan.ts,
 * slot-queue.ts, tasks.ts, failure-policy.ts, and a rollout per strategy.
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
    return wf.continueAsNew<typeof deploymentJob>({ ...input, carried: run.carry() });
  }
  await wf.CancellationScope.nonCancellable(() => wf.condition(wf.allHandlersFinished));
  return { id: run.jobId, status: run.job!.status, statusReason: run.job!.statusReason };
}

async function drive(run: JobRun): Promise<void> {
  if (!run.job && !(await createJob(run))) return;
  if (isFinished(run.job!.status)) return;
  // A rollout carried over from the run before holds the slot already, with the plan it started on.
  if (!run.resumed) {
    if (!(await waitForSlot(run))) return;
    if (run.waitedInQueue && !(await refreshPlan(run))) return;
  }
  await (ROLLOUTS[run.job!.strategy.type] ?? deployInBatches)(run);
}

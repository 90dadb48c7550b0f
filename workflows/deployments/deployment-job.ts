import * as wf from '@temporalio/workflow';
import { checkCancel, checkFailureDecision, isFinished, type FailureDecisionCommand } from '../../domain/deployments/decisions';
import type { DeploymentJob, DeploymentTask, PlanTarget } from '../../domain/deployments/model';
import type { DeploymentActivities } from '../../domain/deployments/ports';
import { compensationOutcome, describeTaskError } from '../../domain/deployments/outcome';
import { deployedReason, jobProgress, noTargetReason, unhealthyCount } from '../../domain/deployments/progress';
import { newJob } from '../../domain/deployments/records';
import { rollbackWork } from '../../domain/deployments/rollback';
import { effectiveFailurePolicy, effectiveLabelSelector, effectiveStrategy, planBatches, toleratesFailures } from '../../domain/deployments/strategy';
import { hookFailedError } from '../../domain/deployments/task-errors';
import { ENTITY_ACTIVITY_OPTIONS } from '../entity';
import { rethrowAsFailure } from '../failures';
import { JobRun, orchestrator, type JobRunInput } from './job-run';
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
  if (!run.job && !(await load(run))) return;
  if (isFinished(run.job!.status)) return;
  if (!(await waitForSlot(run))) return;
  if (run.waitedInQueue && !(await refreshPlan(run))) return;
  await deploy(run);
}

/**
 * A job that waited its turn reads its targets again once it has the slot:
 * the job before it moved their stickers (what a rollback returns them to),
 * and targets or agents may have changed meanwhile.
 */
async function refreshPlan(run: JobRun): Promise<boolean> {
  const { input } = run;
  try {
    const loaded = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Reload the plan after waiting: targets, agents, stickers' }, [
      { tenantId: run.tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: run.job!.labelSelector },
    ]);
    run.plan = loaded.plan;
  } catch (err) {
    if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) throw err;
    await run.commit({ status: 'failed', finishedAt: run.now(), queuePosition: null, statusReason: `the deployment plan could not be reloaded after waiting: ${err.cause?.message ?? err.message}` });
    return false;
  }
  await run.commit({ progress: jobProgress(run.targetIds(), run.tasks()) });
  return true;
}

/** Loads the plan and creates the job; false when the plan cannot be loaded (the job ends failed). */
async function load(run: JobRun): Promise<boolean> {
  const { input } = run;
  let labelSelector = input.labelSelector ?? {};
  let loaded: Awaited<ReturnType<DeploymentActivities['loadDeploymentPlan']>>;
  try {
    loaded = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Load the deployment plan: release, targets, agents, stickers' }, [
      { tenantId: run.tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: input.labelSelector ?? null },
    ]);
  } catch (err) {
    if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) throw err;
    const at = run.now();
    const failed: DeploymentJob = {
      ...newJob(input, null, labelSelector, at),
      status: 'failed',
      statusReason: `the deployment plan could not be loaded: ${err.cause?.message ?? err.message}`,
      finishedAt: at,
    };
    // The environment or release may not exist at all, so the row may be refused; the result still says why.
    await run.save(failed).catch((e) => {
      if (!(e instanceof wf.ActivityFailure)) throw e;
    });
    return false;
  }
  run.plan = loaded.plan;
  labelSelector = effectiveLabelSelector(input, loaded.settings);
  const at = run.now();
  const created: DeploymentJob = {
    ...newJob(input, loaded.plan, labelSelector, at),
    strategy: effectiveStrategy(input, loaded.settings),
    failurePolicy: effectiveFailurePolicy(input, loaded.settings),
  };
  const job: DeploymentJob =
    loaded.plan.targets.length === 0
      ? { ...created, status: 'deployed', statusReason: noTargetReason(loaded.plan.environment.name, labelSelector), startedAt: at, finishedAt: at }
      : created;
  await run.save(job);
  return true;
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

/**
 * A retried target as it is configured now: the operator may have fixed its
 * properties or health check before retrying. What it ran before the job (its
 * previous sticker) stays as loaded at the start; a target gone since keeps
 * the loaded form.
 */
async function reloadTarget(run: JobRun, targetId: string): Promise<PlanTarget> {
  const loaded = run.targetOf(targetId);
  let current: PlanTarget | undefined;
  try {
    const { plan: fresh } = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Reload ${loaded.name} for the retry` }, [
      { tenantId: run.tenantId, environmentId: run.input.environmentId, releaseId: run.input.releaseId, labelSelector: run.job!.labelSelector },
    ]);
    current = fresh.targets.find((t) => t.id === targetId);
  } catch (err) {
    // The environment or release went away meanwhile: retry with what was loaded at the start.
    if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) throw err;
  }
  if (!current) return loaded;
  const target: PlanTarget = { ...current, previous: loaded.previous };
  run.plan = { ...run.plan!, targets: run.plan!.targets.map((t) => (t.id === targetId ? target : t)) };
  return target;
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

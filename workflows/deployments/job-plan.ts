import * as wf from '@temporalio/workflow';
import type { DeploymentJob, PlanTarget } from '../../domain/deployments/model';
import type { DeploymentActivities } from '../../domain/deployments/ports';
import { jobProgress, noTargetReason } from '../../domain/deployments/progress';
import { newJob } from '../../domain/deployments/records';
import { effectiveFailurePolicy, effectiveLabelSelector, effectiveStrategy } from '../../domain/deployments/strategy';
import { ENTITY_ACTIVITY_OPTIONS } from '../entity';
import { orchestrator, type JobRun } from './job-run';

/**
 * A job's plan (the release, the targets with their agents and stickers):
 * loaded when the job is created, read again when it got the slot after
 * waiting, and per target before a retry.
 */

/**
 * A job that waited its turn reads its targets again once it has the slot:
 * the job before it moved their stickers (what a rollback returns them to),
 * and targets or agents may have changed meanwhile.
 */
export async function refreshPlan(run: JobRun): Promise<boolean> {
  const { input } = run;
  try {
    const loaded = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Reload the plan after waiting: targets, agents, stickers' }, [
      { tenantId: run.tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: run.job!.labelSelector, targetIds: input.targetIds ?? null },
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
export async function createJob(run: JobRun): Promise<boolean> {
  const { input } = run;
  let labelSelector = input.labelSelector ?? {};
  let loaded: Awaited<ReturnType<DeploymentActivities['loadDeploymentPlan']>>;
  try {
    loaded = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Load the deployment plan: release, targets, agents, stickers' }, [
      { tenantId: run.tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: input.labelSelector ?? null, targetIds: input.targetIds ?? null },
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

/**
 * A retried target as it is configured now: the operator may have fixed its
 * properties or health check before retrying. What it ran before the job (its
 * previous sticker) stays as loaded at the start; a target gone since keeps
 * the loaded form.
 */
export async function reloadTarget(run: JobRun, targetId: string): Promise<PlanTarget> {
  const loaded = run.targetOf(targetId);
  let current: PlanTarget | undefined;
  try {
    const { plan: fresh } = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Reload ${loaded.name} for the retry` }, [
      { tenantId: run.tenantId, environmentId: run.input.environmentId, releaseId: run.input.releaseId, labelSelector: run.job!.labelSelector, targetIds: run.input.targetIds ?? null },
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

import type { DeploymentActivities } from '../../domain/deployments/ports';
import type { ActivityDeps } from '../deps';
import { persistDeploymentJob } from './jobs';
import { loadDeploymentPlan } from './plan';
import { acquireEnvironmentSlot, releaseEnvironmentSlot } from './slots';
import { recordSticker } from './stickers';
import { persistDeploymentTask } from './tasks';

/** The deploymentJob workflow's orchestrator-side activities, against Postgres; each is safe to retry. */
export function deploymentActivities(deps: ActivityDeps) {
  const { pool } = deps;
  return {
    loadDeploymentPlan: (input) => loadDeploymentPlan(pool, input),
    persistDeploymentJob: (input) => persistDeploymentJob(pool, input),
    persistDeploymentTask: (input) => persistDeploymentTask(pool, input),
    recordSticker: (input) => recordSticker(pool, input),
    acquireEnvironmentSlot: (input) => acquireEnvironmentSlot(pool, input),
    releaseEnvironmentSlot: (input) => releaseEnvironmentSlot(pool, input),
  } satisfies DeploymentActivities;
}

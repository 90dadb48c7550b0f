import type { Context } from 'hono';
import type { DeploymentJob } from '../../../domain/deployments/model';
import type { Principal } from '../../../domain/permissions';
import { clearDeployment, withOverride } from '../../../domain/promotions/clearance';
import { loadGateInputs } from '../../../store/gate-inputs';
import type { AppEnv } from '../../context';
import { NotFound } from '../../errors';

/**
 * An operator's retry deploys the job's release to a target again, so it meets
 * the check every deploying path runs (domain/promotions/clearance.ts): during
 * a freeze it needs deployment:override-freeze and a reason. Answers the reason
 * the job records, naming the freeze it overrides.
 */
export async function clearRetry(c: Context<AppEnv>, principal: Principal, job: DeploymentJob, reason: string | null): Promise<string | null> {
  const now = new Date().toISOString();
  const loaded = await loadGateInputs(c.get('deps').pool, { tenantId: principal.tenantId, releaseId: job.releaseId, targetEnvironmentId: job.environmentId, now });
  if (!loaded.ok) {
    throw loaded.missing === 'release' ? new NotFound(`Release ${job.releaseId} not found`, 'RELEASE_NOT_FOUND') : new NotFound(`Environment ${job.environmentId} not found`, 'ENVIRONMENT_NOT_FOUND');
  }
  const clearance = clearDeployment(loaded.inputs, { kind: 'retry', actor: principal, reason }, now);
  if (clearance.outcome === 'refuse') throw clearance.error;
  if (clearance.outcome !== 'clear') throw new Error(`a retry cannot be ${clearance.outcome}`);
  return clearance.freezeOverride ? withOverride(clearance.freezeOverride.reason, clearance.freezeOverride) : reason;
}

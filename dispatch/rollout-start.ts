import type { Identity } from '../domain/actor';
import { DomainError } from '../domain/errors';
import { clearDeployment } from '../domain/promotions/clearance';
import { planOf } from '../domain/rollouts/backends';
import type { Rollout, RolloutPlan, RolloutState } from '../domain/rollouts/model';
import { IN_FLIGHT } from '../domain/rollouts/state-machine';
import { withTransaction, type Pool } from '../platform/db';
import { loadGateInputs } from '../store/gate-inputs';
import { TRAFFIC_INTEGRATION_TYPE } from '../domain/rollouts/integrations';
import { integrationRefs, loadPlanRows, releaseNames } from '../store/rollout-plan';

/**
 * Starting (or retrying) a rollout, for every caller (the API's start and
 * retry, a template run's `rollout` step): one rollout per environment moving
 * traffic, the clearance every deploying path meets, and the plan (router
 * agent, backends, the canary targets' stickers) resolved now. Refusals are
 * DomainErrors: the API answers them 409/403/422 as it always did, a step
 * reports them as its failure (`NO_ROUTER`, `ROLLOUT_IN_FLIGHT`, …).
 */

export interface RolloutCommander {
  actor: Identity & { permissions: string[] };
  reason: string | null;
  /** Whether another rollout's workflow is still running (one ended outside Tollgate left its row running). */
  workflowRunning(rolloutId: string): Promise<boolean>;
}

/**
 * The check and the command run under a lock on the environment, held until
 * the workflow has written the running row, so of two starts in one
 * environment the second sees the first.
 */
export async function withRolloutPlan<T>(pool: Pool, tenantId: string, r: Rollout, commander: RolloutCommander, send: (plan: RolloutPlan) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`rollout-in-flight:${tenantId}:${r.environmentId}`]);
    const other = await rolloutInFlight(db, tenantId, r.environmentId, IN_FLIGHT, r.id);
    if (other && (await commander.workflowRunning(other.id))) {
      const why = other.scaling_down
        ? `Rollout ${other.id} (${other.name}) is scaling its canary targets down (the stable release deployed back to them); start again once it has`
        : `Rollout ${other.id} (${other.name}) is ${other.state} in this environment; roll it back or let it finish first`;
      throw new DomainError('invalid_state', 'ROLLOUT_IN_FLIGHT', why, { rolloutId: other.id, state: other.state, scalingDown: other.scaling_down });
    }
    await clearRollout(pool, tenantId, r, commander);
    const rows = await loadPlanRows(db, tenantId, r.environmentId);
    const versions = await releaseNames(db, tenantId, [r.stableReleaseId, r.canaryReleaseId]);
    const plan = planOf({
      environmentName: r.environmentName,
      ...rows,
      trafficIntegration: r.trafficIntegrationId ? await trafficIntegrationOf(db, tenantId, r.trafficIntegrationId) : null,
      canaryReleaseId: r.canaryReleaseId,
      canaryReleaseName: r.canaryReleaseName,
      stableVersion: versions.get(r.stableReleaseId)?.version ?? r.stableReleaseName,
      canaryVersion: versions.get(r.canaryReleaseId)?.version ?? r.canaryReleaseName,
    });
    return send(plan);
  });
}

/** A rollout of the environment that holds its traffic now (running or paused), other than `exceptId`. */
async function rolloutInFlight(db: Pick<Pool, 'query'>, tenantId: string, environmentId: string, states: readonly RolloutState[], exceptId: string) {
  // A rollback's scale-down still deploying the stable release to the canary targets holds them too: a canary deployed meanwhile would be overwritten.
  const { rows } = await db.query<{ id: string; state: RolloutState; name: string; scaling_down: boolean }>(
    `SELECT id, state, name, body->'scaleDown'->>'status' IN ('pending', 'deploying') AS scaling_down FROM rollouts
      WHERE tenant_id = $1 AND environment_id = $2 AND id <> $4
        AND (state = ANY($3::text[]) OR (state = 'aborted' AND body->'scaleDown'->>'status' IN ('pending', 'deploying')))
      ORDER BY created_at LIMIT 1`,
    [tenantId, environmentId, states, exceptId],
  );
  return rows[0];
}

/**
 * A rollout moves production traffic to a release, so its start meets the
 * check every deploying path runs (domain/promotions/clearance.ts): during an
 * active freeze of the environment it needs deployment:override-freeze and a reason.
 */
async function clearRollout(pool: Pool, tenantId: string, r: Rollout, commander: RolloutCommander): Promise<void> {
  const now = new Date().toISOString();
  const loaded = await loadGateInputs(pool, { tenantId, releaseId: r.canaryReleaseId, targetEnvironmentId: r.environmentId, now });
  if (!loaded.ok) throw new DomainError('invalid_state', loaded.missing === 'release' ? 'RELEASE_NOT_FOUND' : 'ENVIRONMENT_NOT_FOUND', `The rollout's ${loaded.missing} no longer exists`);
  const clearance = clearDeployment(loaded.inputs, { kind: 'rollout', actor: commander.actor, reason: commander.reason }, now);
  if (clearance.outcome === 'refuse') throw clearance.error;
}

/** The rollout's traffic integration as it is at start: deleted or retyped since create, the start is refused. */
async function trafficIntegrationOf(db: Pick<Pool, 'query'>, tenantId: string, id: string): Promise<{ id: string; name: string }> {
  const ref = (await integrationRefs(db as Pool, tenantId, [id])).get(id);
  if (!ref || ref.typeId !== TRAFFIC_INTEGRATION_TYPE) {
    throw new DomainError('invalid_state', 'TRAFFIC_INTEGRATION_GONE', `The rollout's traffic integration ${id} ${ref ? `is now a ${ref.typeId} integration` : 'no longer exists'}: create the rollout again with a traffic-webhook integration`, { integrationId: id });
  }
  return { id: ref.id, name: ref.name };
}

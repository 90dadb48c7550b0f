import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import { planOf } from '../../../domain/rollouts/backends';
import type { Rollout, RolloutPlan } from '../../../domain/rollouts/model';
import type { CreateRolloutBody } from '../../../domain/rollouts/requests';
import { IN_FLIGHT } from '../../../domain/rollouts/state-machine';
import { workflowId } from '../../../domain/workflow-ids';
import { rolloutTitle } from '../../../domain/workflow-titles';
import { withTransaction } from '../../../platform/db';
import { deploymentSettings } from '../../../platform/deployment-settings';
import { loadPlanRows, releaseNames } from '../../../store/rollout-plan';
import { loadGateInputs } from '../../../store/gate-inputs';
import { clearDeployment } from '../../../domain/promotions/clearance';
import type { rollout } from '../../../workflows/rollouts/rollout';
import { createRollout, readRolloutTraffic, ROLLOUT_WORKFLOW_TYPE, searchAttributesOf, type RolloutWorkflowInput, type TrafficReading } from '../../../workflows/rollouts/messages';
import type { AppEnv } from '../../context';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { principalOf } from '../../principal';
import { isWorkflowGone } from '../../temporal-errors';
import { createWithUpdate, sendUpdate, withinCommandTimeout } from '../../workflow-commands';
import { rolloutEndedConflict } from './rollouts.ended';
import { findRollout, rolloutInFlight } from './rollouts.queries';

/** Sends rollout commands to their workflows; the API never writes a rollout row itself. */

const KEY_SCOPE = 'rollout';

export async function createRolloutWorkflow(c: Context<AppEnv>, body: CreateRolloutBody): Promise<Rollout> {
  const { tenantId, userId, email } = principalOf(c);
  const { pool, config } = c.get('deps');
  const env = (await pool.query<{ name: string }>('SELECT name FROM environments WHERE tenant_id = $1 AND id = $2', [tenantId, body.environmentId])).rows[0];
  if (!env) throw new Unprocessable(`environmentId: environment ${body.environmentId} does not exist`, 'ENVIRONMENT_NOT_FOUND', { field: 'environmentId' });
  const releases = await releaseNames(pool, tenantId, [body.stableReleaseId, body.canaryReleaseId]);
  for (const field of ['stableReleaseId', 'canaryReleaseId'] as const) {
    if (!releases.has(body[field])) throw new Unprocessable(`${field}: release ${body[field]} does not exist`, 'RELEASE_NOT_FOUND', { field });
  }
  const names = { environmentName: env.name, stableReleaseName: releases.get(body.stableReleaseId)!.name, canaryReleaseName: releases.get(body.canaryReleaseId)!.name };
  return createWithUpdate<Rollout, { input: CreateRolloutBody; names: typeof names }, typeof rollout>(c, {
    kind: 'rollout',
    workflowType: ROLLOUT_WORKFLOW_TYPE,
    definition: createRollout,
    body: { input: body, names },
    scope: KEY_SCOPE,
    allocate: async () => randomUUID(),
    start: (id) => ({
      args: [{ tenantId, rolloutId: id, agentPickupTimeoutMs: config.ROLLOUT_AGENT_PICKUP_TIMEOUT, deploymentSettings: deploymentSettings(config) } satisfies RolloutWorkflowInput],
      searchAttributes: searchAttributesOf(tenantId, { id, state: 'created', ...names }, rolloutTitle({ name: body.name, ...names })),
      summary: `${body.name} (${body.strategy})`,
      details: `Rollout ${id} of ${names.canaryReleaseName} beside ${names.stableReleaseName} in ${names.environmentName}, created by ${email ?? userId}`,
    }),
  });
}

/**
 * The plan a start or retry runs on, resolved now (router agent, backends,
 * the canary targets' stickers), and one rollout per environment moving
 * traffic: the check and the command run under a lock on the environment,
 * held until the workflow has written the running row.
 */
export async function commandWithPlan<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<Rollout, [B & { plan: RolloutPlan }, CommandMeta]>, body: B): Promise<Rollout> {
  const { tenantId } = principalOf(c);
  const { pool } = c.get('deps');
  const r = await existing(c, id);
  return withTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`rollout-in-flight:${tenantId}:${r.environmentId}`]);
    const other = await rolloutInFlight(db, tenantId, r.environmentId, IN_FLIGHT, id);
    // A run ended outside Tollgate (terminated in the Temporal UI) left its row running: it no longer holds the environment.
    if (other && (await workflowRunning(c, other.id))) {
      const why = other.scaling_down
        ? `Rollout ${other.id} (${other.name}) is scaling its canary targets down (the stable release deployed back to them); start again once it has`
        : `Rollout ${other.id} (${other.name}) is ${other.state} in this environment; roll it back or let it finish first`;
      throw new Conflict(why, 'ROLLOUT_IN_FLIGHT', { rolloutId: other.id, state: other.state, scalingDown: other.scaling_down });
    }
    await clearRollout(c, r, (body as { input?: { reason?: string } }).input?.reason ?? null);
    const rows = await loadPlanRows(db, tenantId, r.environmentId);
    const versions = await releaseNames(db, tenantId, [r.stableReleaseId, r.canaryReleaseId]);
    const plan = planOf({
      environmentName: r.environmentName,
      ...rows,
      canaryReleaseId: r.canaryReleaseId,
      canaryReleaseName: r.canaryReleaseName,
      stableVersion: versions.get(r.stableReleaseId)?.version ?? r.stableReleaseName,
      canaryVersion: versions.get(r.canaryReleaseId)?.version ?? r.canaryReleaseName,
    });
    return updateRolloutWorkflow(c, id, definition, { ...body, plan });
  });
}

async function workflowRunning(c: Context<AppEnv>, id: string): Promise<boolean> {
  const client = await c.get('deps').temporal.client();
  try {
    const described = await withinCommandTimeout(c, client, () => client.workflow.getHandle(workflowId(principalOf(c).tenantId, 'rollout', id)).describe());
    return described.status.name === 'RUNNING';
  } catch (err) {
    if (isWorkflowGone(err)) return false;
    throw err;
  }
}

/**
 * A rollout moves production traffic to a release, so its start meets the
 * check every deploying path runs (domain/promotions/clearance.ts): during an
 * active freeze of the environment it needs deployment:override-freeze and a reason.
 */
async function clearRollout(c: Context<AppEnv>, r: Rollout, reason: string | null): Promise<void> {
  const principal = principalOf(c);
  const now = new Date().toISOString();
  const loaded = await loadGateInputs(c.get('deps').pool, { tenantId: principal.tenantId, releaseId: r.canaryReleaseId, targetEnvironmentId: r.environmentId, now });
  if (!loaded.ok) throw new Conflict(`The rollout's ${loaded.missing} no longer exists`, loaded.missing === 'release' ? 'RELEASE_NOT_FOUND' : 'ENVIRONMENT_NOT_FOUND');
  const clearance = clearDeployment(loaded.inputs, { kind: 'rollout', actor: principal, reason }, now);
  if (clearance.outcome === 'refuse') throw clearance.error;
}

export async function updateRolloutWorkflow<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<Rollout, [B, CommandMeta]>, body: B): Promise<Rollout> {
  return sendUpdate(c, {
    kind: 'rollout',
    id,
    definition,
    body,
    scope: KEY_SCOPE,
    async gone() {
      const ended = await rolloutEndedConflict(c, id);
      if (ended) throw ended;
      const current = await existing(c, id);
      throw new Conflict(`Rollout ${id} is ${current.state} and its workflow has ended: it accepts no further commands`, 'ROLLOUT_ENDED', { currentState: current.state });
    },
  });
}

export async function existing(c: Context<AppEnv>, id: string): Promise<Rollout> {
  const r = await findRollout(c.get('deps').pool, principalOf(c).tenantId, id);
  if (!r) throw new NotFound(`Rollout ${id} not found`, 'ROLLOUT_NOT_FOUND');
  return r;
}

/** The router's weights read back now through the rollout's workflow and its agent; an ended rollout answers its last read-back. */
export async function readTraffic(c: Context<AppEnv>, r: Rollout): Promise<TrafficReading> {
  const { tenantId } = principalOf(c);
  const last: TrafficReading = { traffic: r.traffic, live: false, note: `The rollout is ${r.state}: this is the router's last read-back${r.traffic ? `, at ${r.traffic.readAt}` : ' (none yet)'}` };
  if (r.state === 'completed' || !r.plan) return last;
  const client = await c.get('deps').temporal.client();
  try {
    return await withinCommandTimeout(c, client, () => client.workflow.getHandle(workflowId(tenantId, 'rollout', r.id)).executeUpdate(readRolloutTraffic, { args: [] }));
  } catch (err) {
    if (isWorkflowGone(err)) return last;
    throw err;
  }
}

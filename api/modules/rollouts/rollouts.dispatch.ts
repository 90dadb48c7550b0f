import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { Rollout, RolloutPlan } from '../../../domain/rollouts/model';
import type { CreateRolloutBody } from '../../../domain/rollouts/requests';
import { workflowId } from '../../../domain/workflow-ids';
import { rolloutTitle } from '../../../domain/workflow-titles';
import { deploymentSettings } from '../../../platform/deployment-settings';
import { integrationRefs, releaseNames } from '../../../store/rollout-plan';
import { checkRolloutIntegrations, integrationIdsOf } from '../../../domain/rollouts/integrations';
import type { rollout } from '../../../workflows/rollouts/rollout';
import { createRollout, readRolloutTraffic, ROLLOUT_WORKFLOW_TYPE, searchAttributesOf, type RolloutWorkflowInput, type TrafficReading } from '../../../workflows/rollouts/messages';
import type { AppEnv } from '../../context';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { principalOf } from '../../principal';
import { isWorkflowGone } from '../../temporal-errors';
import { createWithUpdate, sendUpdate, withinCommandTimeout } from '../../workflow-commands';
import { rolloutEndedConflict } from './rollouts.ended';
import { findRollout } from './rollouts.queries';
import { withRolloutPlan } from '../../../dispatch/rollout-start';

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
  checkRolloutIntegrations(body, await integrationRefs(pool, tenantId, integrationIdsOf(body)));
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

/** A start or retry, on the plan dispatch/rollout-start.ts resolves under the environment's lock. */
export async function commandWithPlan<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<Rollout, [B & { plan: RolloutPlan }, CommandMeta]>, body: B): Promise<Rollout> {
  const principal = principalOf(c);
  const r = await existing(c, id);
  const reason = (body as { input?: { reason?: string } }).input?.reason ?? null;
  return withRolloutPlan(c.get('deps').pool, principal.tenantId, r, { actor: principal, reason, workflowRunning: (other) => workflowRunning(c, other) }, (plan) =>
    updateRolloutWorkflow(c, id, definition, { ...body, plan }),
  );
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

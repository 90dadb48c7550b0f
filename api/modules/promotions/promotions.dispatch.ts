import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { CreatePromotionInput } from '../../../domain/promotions/commands';
import { blockers, evaluateGates } from '../../../domain/promotions/gates';
import { pipelineRefusal } from '../../../domain/promotions/pipelines';
import type { GateInputs, Promotion } from '../../../domain/promotions/model';
import { deploymentSettings } from '../../../platform/deployment-settings';
import { loadGateInputs } from '../../../store/gate-inputs';
import type { promotion } from '../../../workflows/promotions/promotion';
import { promotionTitle } from '../../../domain/workflow-titles';
import { createPromotion, PROMOTION_WORKFLOW_TYPE, searchAttributesOf, type PromotionWorkflowInput } from '../../../workflows/promotions/messages';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { AppEnv } from '../../context';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { actorOf, principalOf } from '../../principal';
import { createWithUpdate, sendUpdate } from '../../workflow-commands';
import { findPromotion } from './promotions.queries';
import { endedOutsideConflict, reconcilePathOf, reconcileRecord, startNewRun, type EndedRecordSpec } from '../../ended-outside';
import { promotionActivities } from '../../../activities/promotions/promotion-activities';
import { promotionResumable, resumePromotion } from '../../../domain/promotions/ended-outside';
import type { PromotionStatus } from '../../../domain/promotions/model';
import { workflowId } from '../../../domain/workflow-ids';
import { IN_FLIGHT } from '../../../domain/promotions/state-machine';
import { withTransaction } from '../../../platform/db';

/** Sends promotion commands to their workflows; the API never writes a promotion row itself. */

const KEY_SCOPE = 'promotion';

/** The gate inputs for a release and environment, or the 404 that names which is missing. */
export async function gateInputsFor(c: Context<AppEnv>, body: { releaseId: string; targetEnvironmentId: string; changeId?: string | null }): Promise<GateInputs> {
  const { tenantId } = principalOf(c);
  const result = await loadGateInputs(c.get('deps').pool, { tenantId, ...body, now: new Date().toISOString() });
  if (result.ok) return result.inputs;
  if (result.missing === 'release') throw new NotFound(`Release ${body.releaseId} not found`, 'RELEASE_NOT_FOUND');
  throw new NotFound(`Environment ${body.targetEnvironmentId} not found`, 'ENVIRONMENT_NOT_FOUND');
}

export async function createPromotionWorkflow(c: Context<AppEnv>, body: CreatePromotionInput): Promise<Promotion> {
  const { tenantId, userId, email } = principalOf(c);
  // The same evaluator the workflow runs: refuse a blocked request before any workflow exists.
  const inputs = await gateInputsFor(c, body);
  if (inputs.release.deprecated) throw new Unprocessable(`Release ${inputs.release.name} is deprecated and cannot be promoted`, 'RELEASE_DEPRECATED', { releaseId: body.releaseId });
  // A target outside the release's pipeline is refused by name, before the gate results that would only repeat it.
  const outside = pipelineRefusal(inputs);
  if (outside) throw new Unprocessable(outside.message, outside.code, outside.details);
  const gates = evaluateGates(inputs, { now: new Date().toISOString(), requester: actorOf(c), approvals: [] });
  const blocking = blockers(gates);
  if (blocking.length) {
    throw new Unprocessable(`Blocked by ${blocking.map((g) => g.gateName).join(', ')}: ${blocking.map((g) => g.message).join('; ')}`, 'PROMOTION_BLOCKED', { gates });
  }
  return createWithUpdate<Promotion, CreatePromotionInput, typeof promotion>(c, {
    kind: 'promotion',
    workflowType: PROMOTION_WORKFLOW_TYPE,
    definition: createPromotion,
    body,
    scope: KEY_SCOPE,
    allocate: async () => randomUUID(),
    exclusive: (id, create) => oneInFlight(c, body, id, create),
    start: (id) => ({
      args: [
        {
          tenantId,
          promotionId: id,
          settings: { expiryHourMs: c.get('deps').config.PROMOTION_EXPIRY_HOUR, deployment: deploymentSettings(c.get('deps').config) },
        } satisfies PromotionWorkflowInput,
      ],
      searchAttributes: searchAttributesOf(
        tenantId,
        { id, status: 'pending', targetEnvironmentName: inputs.environment.name, releaseName: inputs.release.name },
        promotionTitle({ releaseName: inputs.release.name, targetEnvironmentName: inputs.environment.name }),
      ),
      summary: `${inputs.release.name} → ${inputs.environment.name}`,
      details: `Promotion ${id} requested by ${email ?? userId}: ${body.reason}`,
    }),
  });
}

/**
 * One open promotion per release and environment. The check and the create run
 * under a transaction-scoped lock on that pair, held until the workflow has
 * written the new row (the create answers only then), so of two concurrent
 * requests the second sees the first's row. A keyed retry of the same create
 * is not a second promotion; a reconcile that would reopen one beside another
 * open one is refused the same way.
 */
async function oneInFlight<T>(c: Context<AppEnv>, body: Pick<Promotion, 'releaseId' | 'targetEnvironmentId'>, id: string, create: () => Promise<T>): Promise<T> {
  const { tenantId } = principalOf(c);
  return withTransaction(c.get('deps').pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`promotion-in-flight:${tenantId}:${body.releaseId}:${body.targetEnvironmentId}`]);
    const { rows } = await db.query<{ id: string; status: PromotionStatus }>(
      `SELECT id, status FROM promotions
        WHERE tenant_id = $1 AND release_id = $2 AND target_environment_id = $3 AND status = ANY($4::text[]) AND id <> $5
        ORDER BY requested_at LIMIT 1`,
      [tenantId, body.releaseId, body.targetEnvironmentId, IN_FLIGHT, id],
    );
    const first = rows[0];
    if (first) {
      throw new Conflict(`Promotion ${first.id} of this release to this environment is still ${first.status}; cancel it or wait for it to end`, 'PROMOTION_IN_FLIGHT', {
        promotionId: first.id,
        status: first.status,
      });
    }
    return create();
  });
}

export async function updatePromotionWorkflow<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<Promotion, [B, CommandMeta]>, body: B): Promise<Promotion> {
  const { tenantId } = principalOf(c);
  return sendUpdate(c, {
    kind: 'promotion',
    id,
    definition,
    body,
    scope: KEY_SCOPE,
    async gone() {
      const ended = await endedOutsideConflict(c, endedPromotion(c, id));
      if (ended) throw ended;
      const current = await findPromotion(c.get('deps').pool, tenantId, id);
      if (!current) throw new NotFound(`Promotion ${id} not found`, 'PROMOTION_NOT_FOUND');
      throw new Conflict(`Promotion ${id} is ${current.status} and accepts no further commands`, 'ALREADY_DECIDED', { currentStatus: current.status, decidedAt: current.decidedAt });
    },
  });
}

/** A promotion as the ended-outside checks see it (api/ended-outside.ts). */
function endedPromotion(c: Context<AppEnv>, id: string): EndedRecordSpec<Promotion> {
  const { tenantId } = principalOf(c);
  return {
    kind: 'promotion',
    id,
    noun: 'Promotion',
    read: () => findPromotion(c.get('deps').pool, tenantId, id),
    notFound: () => new NotFound(`Promotion ${id} not found`, 'PROMOTION_NOT_FOUND'),
    stateField: 'status',
    resumable: (previous) => promotionResumable(previous as PromotionStatus),
    instead: 'request a new promotion',
    reconcilePath: reconcilePathOf(c, id),
  };
}

/**
 * POST /promotions/{id}/reconcile: a new run of an undecided promotion whose
 * run was ended outside Tollgate, carrying the promotion as its row last stood
 * (approvals included); the run is started before the row moves back.
 */
export async function reconcilePromotion(c: Context<AppEnv>, id: string): Promise<Promotion> {
  const { pool, config } = c.get('deps');
  const { tenantId } = principalOf(c);
  return reconcileRecord(c, endedPromotion(c, id), async (marked, previous, mark) =>
    oneInFlight(c, marked, id, async () => {
      const resumed = resumePromotion(marked, { status: previous as PromotionStatus, decidedAt: mark.before.decidedAt ?? null }, new Date().toISOString());
      const input: PromotionWorkflowInput = {
        tenantId,
        promotionId: id,
        settings: { expiryHourMs: config.PROMOTION_EXPIRY_HOUR, deployment: deploymentSettings(config) },
        carried: resumed.next,
      };
      await startNewRun(c, `Promotion ${id}`, {
        workflowType: PROMOTION_WORKFLOW_TYPE,
        workflowId: workflowId(tenantId, 'promotion', id),
        args: [input],
        searchAttributes: searchAttributesOf(tenantId, resumed.next, promotionTitle(resumed.next)),
        summary: `${marked.releaseName} → ${marked.targetEnvironmentName}`,
        details: `Promotion ${id} started again from its record after its previous run was ${mark.ending.how} outside Tollgate`,
      });
      await promotionActivities({ pool, config, log: c.get('log') }).persistPromotion({
        tenantId,
        promotion: resumed.next,
        events: resumed.events,
        actor: actorOf(c),
        requestId: c.get('requestId'),
      });
      return resumed.next;
    }),
  );
}

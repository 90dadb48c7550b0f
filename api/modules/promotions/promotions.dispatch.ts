import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { CreatePromotionInput } from '../../../domain/promotions/commands';
import type { Promotion } from '../../../domain/promotions/model';
import { deploymentSettings } from '../../../platform/deployment-settings';
import type { promotion } from '../../../workflows/promotions/promotion';
import { promotionTitle } from '../../../domain/workflow-titles';
import { createPromotion, PROMOTION_WORKFLOW_TYPE, searchAttributesOf, type PromotionWorkflowInput } from '../../../workflows/promotions/messages';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { AppEnv } from '../../context';
import { Conflict, NotFound } from '../../errors';
import { checkPromotionRequest, oneInFlight, promotionStartOptions } from '../../../dispatch/promotion-start';
import { actorOf, principalOf } from '../../principal';
import { createWithUpdate, sendUpdate } from '../../workflow-commands';
import { findPromotion } from './promotions.queries';
import { endedOutsideConflict, reconcilePathOf, reconcileRecord, startNewRun, type EndedRecordSpec } from '../../ended-outside';
import { promotionActivities } from '../../../activities/promotions/promotion-activities';
import { promotionResumable, resumePromotion } from '../../../domain/promotions/ended-outside';
import type { PromotionStatus } from '../../../domain/promotions/model';
import { workflowId } from '../../../domain/workflow-ids';
import { gateDepsOf } from '../../../activities/integrations/http-gate';

/** Sends promotion commands to their workflows; the API never writes a promotion row itself. */

const KEY_SCOPE = 'promotion';

export async function createPromotionWorkflow(c: Context<AppEnv>, body: CreatePromotionInput): Promise<Promotion> {
  const { tenantId } = principalOf(c);
  const { pool, config } = c.get('deps');
  const requester = actorOf(c);
  const inputs = await checkPromotionRequest(gateDepsOf({ pool, config }), tenantId, body, requester);
  return createWithUpdate<Promotion, CreatePromotionInput, typeof promotion>(c, {
    kind: 'promotion',
    workflowType: PROMOTION_WORKFLOW_TYPE,
    definition: createPromotion,
    body,
    scope: KEY_SCOPE,
    allocate: async () => randomUUID(),
    exclusive: (id, create) => oneInFlight(pool, tenantId, body, id, create),
    start: (id) => promotionStartOptions(config, tenantId, id, inputs, body, requester),
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
    oneInFlight(pool, tenantId, marked, id, async () => {
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

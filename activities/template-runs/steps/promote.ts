import type { Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { checkPromotionRequest, oneInFlight, promotionStartOptions } from '../../../dispatch/promotion-start';
import type { Actor, CommandMeta } from '../../../domain/actor';
import type { CreatePromotionInput } from '../../../domain/promotions/commands';
import type { Promotion } from '../../../domain/promotions/model';
import { isFinished } from '../../../domain/promotions/state-machine';
import type { StepRequest, StepResult } from '../../../domain/templates/model';
import { workflowId } from '../../../domain/workflow-ids';
import type { Pool } from '../../../platform/db';
import { cancelDeploymentJob } from '../../../workflows/deployments/messages';
import { cancelPromotion, createPromotion, PROMOTION_WORKFLOW_TYPE } from '../../../workflows/promotions/messages';
import type { ActivityDeps } from '../../deps';
import { pause, stepStartOperation, type StepTask } from './step-client';
import { asStepFailure, refusalOf, stepFailure, stepInputs } from './step-failures';
import { stepRequestId, stepResourceId } from './step-ids';
import { gateDepsOf } from '../../integrations/http-gate';

export interface PromoteStepDeps extends ActivityDeps {
  client: () => Promise<Client>;
}

/** How often a waiting step looks at the promotion's row (and heartbeats). */
const LOOK_EVERY_MS = 1_000;

/**
 * The `promote` step: requests a promotion through the code POST /promotions
 * runs (dispatch/promotion-start.ts: the same refusals, gates, pipeline and
 * PROMOTION_IN_FLIGHT lock), under an id derived from the run and the node, so
 * a retried step finds its promotion instead of making a second one; then
 * waits for its outcome. A promotion is created by update-with-start (its row
 * and its answer come from its own workflow), so a template run cannot own it
 * as a child: this heartbeating activity waits instead, and a cancelled run
 * cancels the promotion (or, once it deploys, its deployment job).
 */
export function promoteStep(deps: PromoteStepDeps) {
  return async (request: StepRequest, task: StepTask): Promise<StepResult> => {
    const input = stepInputs(request, 'promote') as { releaseId: string; environmentId: string; reason?: string };
    const id = stepResourceId(request, 'promotion');
    const actor: Actor = { userId: request.requestedBy.userId, ...(request.requestedBy.email ? { email: request.requestedBy.email } : {}), permissions: [] };
    const meta: CommandMeta = { actor, requestId: stepRequestId(request) };
    try {
      if (!(await findPromotion(deps.pool, request.tenantId, id))) await requestPromotion(deps, request, id, input, meta);
      task.heartbeat({ promotionId: id });
      for (;;) {
        const p = await findPromotion(deps.pool, request.tenantId, id);
        if (p && isFinished(p.status)) return outcomeOf(deps.pool, request.tenantId, p);
        task.heartbeat({ promotionId: id, status: p?.status ?? 'pending' });
        await pause(LOOK_EVERY_MS, task.signal);
      }
    } catch (err) {
      if (task.signal.aborted) {
        await cancelOwnPromotion(deps, request.tenantId, id, meta);
        throw err instanceof CancelledFailure ? err : new CancelledFailure('the template run cancelled this step');
      }
      throw asStepFailure(err);
    }
  };
}

async function requestPromotion(deps: PromoteStepDeps, request: StepRequest, id: string, input: { releaseId: string; environmentId: string; reason?: string }, meta: CommandMeta): Promise<void> {
  const body: CreatePromotionInput = { releaseId: input.releaseId, targetEnvironmentId: input.environmentId, reason: input.reason?.trim() || `Requested by template run ${request.runId}, step ${request.nodeId}` };
  const inputs = await checkPromotionRequest(gateDepsOf(deps), request.tenantId, body, request.requestedBy);
  const client = await deps.client();
  const options = promotionStartOptions(deps.config, request.tenantId, id, inputs, body, request.requestedBy);
  const start = stepStartOperation(deps.config, request, 'promotion', id, PROMOTION_WORKFLOW_TYPE, options);
  try {
    await oneInFlight(deps.pool, request.tenantId, body, id, () =>
      client.workflow.executeUpdateWithStart(createPromotion, { args: [body, meta], updateId: `template-step:${id}`, startWorkflowOperation: start }),
    );
  } catch (err) {
    // The workflow refused the create (its own gates, a promotion it already holds): the refusal is the step's failure.
    throw refusalOf(err, 'PROMOTION_REFUSED') ?? err;
  }
}

async function outcomeOf(pool: Pool, tenantId: string, p: Promotion): Promise<StepResult> {
  const job = await pool.query<{ id: string }>('SELECT id FROM deployment_jobs WHERE tenant_id = $1 AND promotion_id = $2 ORDER BY created_at DESC LIMIT 1', [tenantId, p.id]);
  const outputs = { promotionId: p.id, status: p.status, deploymentJobId: job.rows[0]?.id ?? null };
  if (p.status === 'deployed') return { outputs };
  throw stepFailure(`PROMOTION_${p.status.toUpperCase()}`, `Promotion ${p.id} of ${p.releaseName} to ${p.targetEnvironmentName} ended ${p.status}${p.statusReason ? `: ${p.statusReason}` : ''}`, outputs);
}

/**
 * A cancelled run takes its promotion with it: an undecided (or freeze-held)
 * one is cancelled as its requester would; one already deploying has its job
 * cancelled, which ends the promotion too. Best effort: the step ends cancelled
 * whatever the promotion says.
 */
async function cancelOwnPromotion(deps: PromoteStepDeps, tenantId: string, id: string, meta: CommandMeta): Promise<void> {
  const p = await findPromotion(deps.pool, tenantId, id).catch(() => undefined);
  if (!p || isFinished(p.status)) return;
  const client = await deps.client();
  const reason = 'the template run that requested it was cancelled';
  try {
    if (p.status === 'deploying') {
      const job = await deps.pool.query<{ id: string }>("SELECT id FROM deployment_jobs WHERE tenant_id = $1 AND promotion_id = $2 AND status NOT IN ('deployed','failed','rolled_back','cancelled') ORDER BY created_at DESC LIMIT 1", [tenantId, id]);
      if (job.rows[0]) await client.workflow.getHandle(workflowId(tenantId, 'deployment', job.rows[0].id)).executeUpdate(cancelDeploymentJob, { args: [{ reason }, meta] });
    } else {
      await client.workflow.getHandle(workflowId(tenantId, 'promotion', id)).executeUpdate(cancelPromotion, { args: [{ reason }, meta] });
    }
  } catch (err) {
    deps.log.warn({ err, promotionId: id }, 'template step: the promotion of a cancelled run could not be cancelled');
  }
}

async function findPromotion(pool: Pool, tenantId: string, id: string): Promise<Promotion | undefined> {
  const { rows } = await pool.query<{ body: Promotion }>('SELECT body FROM promotions WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

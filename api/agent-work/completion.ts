import { ActivityCancelledError, ActivityNotFoundError, ActivityPausedError, ActivityResetError, type Client } from '@temporalio/client';
import { ApplicationFailure, type ActivitySerializationContext } from '@temporalio/common';
import { RESULT_SCHEMAS, unclaimedResult, type DeliveryResult } from '../../domain/deployments/deliveries';
import type { AgentTaskResult } from '../../domain/deployments/model';
import { withTransaction, type Pool } from '../../platform/db';
import { recordAudit } from '../../platform/audit';
import { ApiError, NotFound, ValidationFailed } from '../errors';
import { acknowledgeDelivery, claimedBy, finishDelivery, findDelivery, type DeliveryRow } from './deliveries';

/**
 * What an agent's heartbeats and results do: the API heartbeats or completes
 * the Temporal activity with the task token it kept (api/agent-work/relay.ts).
 * An agent reaches only deliveries handed to it (the row names the agent);
 * another agent's, or one that does not exist, is a 404 either way.
 */
export interface CompletionDeps {
  pool: Pool;
  client: () => Promise<Client>;
  namespace: string;
}

export interface DeliveryRef {
  tenantId: string;
  agentId: string;
  deliveryId: string;
  requestId?: string;
}

export class DeliveryGone extends ApiError {
  constructor(message: string) {
    super(410, 'DELIVERY_GONE', message);
  }
}

export async function heartbeatDelivery(deps: CompletionDeps, ref: DeliveryRef, details: unknown): Promise<{ cancelRequested: boolean }> {
  const row = await requireDelivery(deps.pool, ref);
  if (!row.acknowledgedAt) await acknowledgeDelivery(deps.pool, ref.tenantId, ref.deliveryId);
  const client = await deps.client();
  try {
    await client.activity.heartbeat(row.taskToken, details ?? undefined, { serializationContext: contextOf(deps, row) });
    return { cancelRequested: false };
  } catch (err) {
    // Cancelled, or paused/reset by an operator: either way the task is to stop now.
    if (err instanceof ActivityCancelledError || err instanceof ActivityPausedError || err instanceof ActivityResetError) return { cancelRequested: true };
    if (err instanceof ActivityNotFoundError) throw await gone(deps.pool, ref);
    throw err;
  }
}

export interface RecordedResult {
  outcome: string;
  alreadyRecorded: boolean;
}

export async function completeDelivery(deps: CompletionDeps, ref: DeliveryRef, body: DeliveryResult): Promise<RecordedResult> {
  return withTransaction(deps.pool, async (db) => {
    const row = await findDelivery(db, ref.tenantId, ref.agentId, ref.deliveryId, true);
    if (!row) throw notFound(ref);
    // A result sent again (its answer was lost on the way): the first one stands.
    if (row.finishedAt) return { outcome: row.outcome ?? 'finished', alreadyRecorded: true };
    const client = await deps.client();
    const options = { serializationContext: contextOf(deps, row) };
    let outcome: string = body.status;
    try {
      if (body.status === 'completed') {
        const parsed = RESULT_SCHEMAS[row.activity].safeParse(body.result);
        if (!parsed.success) {
          throw new ValidationFailed(
            parsed.error.issues.map((i) => ({ field: ['result', ...i.path].join('.'), code: i.code, message: i.message })),
            `The result is not a ${row.activity} answer`,
          );
        }
        let result = parsed.data;
        if (row.activity === 'deployTarget' && (result as AgentTaskResult).outcome === 'succeeded' && !(await claimedBy(db, ref.tenantId, ref.agentId, row.ledger!))) {
          result = unclaimedResult(result as AgentTaskResult, ref.agentId);
          outcome = 'unclaimed';
          await recordAudit(db, {
            tenantId: ref.tenantId,
            actor: `agent:${ref.agentId}`,
            action: 'deployment_task.unclaimed_result',
            resourceType: 'deployment_task',
            resourceId: row.ledger!.taskId,
            after: { deliveryId: row.id, ...row.ledger, reported: 'succeeded', recorded: 'failed: UNCLAIMED_RESULT' },
            requestId: ref.requestId,
          });
        }
        await client.activity.complete(row.taskToken, result, options);
      } else if (body.status === 'failed') {
        const { message, type, nonRetryable } = body.error;
        await client.activity.fail(row.taskToken, ApplicationFailure.create({ message, type: type ?? 'AgentError', nonRetryable: nonRetryable ?? false }), options);
      } else {
        await client.activity.reportCancellation(row.taskToken, body.details ?? undefined, options);
      }
    } catch (err) {
      if (err instanceof ActivityNotFoundError) {
        await finishDelivery(db, ref.tenantId, ref.deliveryId, 'gone');
        throw new DeliveryGone(`Delivery ${ref.deliveryId} has already ended in Temporal (timed out or cancelled): the result is not recorded`);
      }
      throw err;
    }
    await finishDelivery(db, ref.tenantId, ref.deliveryId, outcome);
    return { outcome, alreadyRecorded: false };
  });
}

async function requireDelivery(pool: Pool, ref: DeliveryRef): Promise<DeliveryRow> {
  const row = await findDelivery(pool, ref.tenantId, ref.agentId, ref.deliveryId);
  if (!row) throw notFound(ref);
  if (row.finishedAt) throw new DeliveryGone(`Delivery ${ref.deliveryId} has ended (${row.outcome ?? 'finished'}): stop the task`);
  return row;
}

async function gone(pool: Pool, ref: DeliveryRef): Promise<DeliveryGone> {
  await finishDelivery(pool, ref.tenantId, ref.deliveryId, 'gone');
  return new DeliveryGone(`Delivery ${ref.deliveryId} has already ended in Temporal (timed out or cancelled): stop the task`);
}

function notFound(ref: DeliveryRef): NotFound {
  return new NotFound(`Delivery ${ref.deliveryId} not found for agent ${ref.agentId}`, 'DELIVERY_NOT_FOUND');
}

function contextOf(deps: CompletionDeps, row: DeliveryRow): ActivitySerializationContext {
  return { type: 'activity', namespace: deps.namespace, workflowId: row.workflowId, isLocal: false };
}

import { createHash, randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { CreateChangeInput } from '../../../domain/changes/commands';
import { CHANGE_ID_PATTERN, changeNumberToId, type Change } from '../../../domain/changes/model';
import { allowedNextStates } from '../../../domain/changes/state-machine';
import { SA } from '../../../domain/search-attributes';
import { workflowId } from '../../../domain/workflow-ids';
import type { changeLifecycle } from '../../../workflows/changes/change-lifecycle';
import { CHANGE_WORKFLOW_TYPE, createChange, type CommandMeta } from '../../../workflows/changes/messages';
import type { AppEnv } from '../../context';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { actorOf, principalOf, updateIdFor } from '../../principal';
import { isWorkflowGone } from '../../temporal-errors';
import { allocateChangeNumber, findChange } from './queries';

/** Sends change commands to their workflows; the API never writes a change row itself. */

/**
 * A command waits for its workflow to persist it, but not forever: when the
 * worker or Postgres is down the caller gets a 503 after COMMAND_TIMEOUT and may
 * retry with the same Idempotency-Key to collect the result once it lands.
 */
function withinCommandTimeout<T>(c: Context<AppEnv>, client: Client, fn: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + c.get('deps').config.COMMAND_TIMEOUT, fn);
}

function meta(c: Context<AppEnv>): CommandMeta {
  return { actor: actorOf(c), requestId: c.get('requestId') };
}

export async function createChangeWorkflow(c: Context<AppEnv>, body: CreateChangeInput): Promise<Change> {
  const { pool, temporal, config } = c.get('deps');
  const { tenantId, userId, email } = principalOf(c);
  const updateId = updateIdFor(c, 'create');
  const number = updateId ? await idempotentNumber(c, updateId, body) : await allocateChangeNumber(pool, tenantId);
  const id = changeNumberToId(number);
  const client = await temporal.client();
  const start = new WithStartWorkflowOperation<typeof changeLifecycle>(CHANGE_WORKFLOW_TYPE, {
    workflowId: workflowId(tenantId, 'change', id),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [
      {
        tenantId,
        changeId: id,
        number,
        settings: { reviewDeadlineMs: config.CHANGE_REVIEW_DEADLINE, defaultCabQuorum: config.CHANGE_CAB_QUORUM },
      },
    ],
    // A retried create (same Idempotency-Key → same number) must reach the workflow it started.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: SA.tenant, value: tenantId },
      { key: SA.kind, value: 'change' },
      { key: SA.resourceId, value: id },
      { key: SA.state, value: 'draft' },
      { key: SA.type, value: body.type },
    ],
    staticSummary: body.short_description,
    staticDetails: `${id}: ${body.type} change requested by ${email ?? userId}${body.assignment_group ? ` for ${body.assignment_group}` : ''}`,
  });
  return withinCommandTimeout(c, client, () =>
    client.workflow.executeUpdateWithStart(createChange, { args: [body, meta(c)], updateId: updateId ?? randomUUID(), startWorkflowOperation: start }),
  );
}

/**
 * The number a keyed create resolves to: the one an earlier request with the
 * same key took, or a fresh one. The same key with a different body is refused.
 */
async function idempotentNumber(c: Context<AppEnv>, key: string, body: CreateChangeInput): Promise<number> {
  const { pool } = c.get('deps');
  const { tenantId } = principalOf(c);
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const existing = async () =>
    (await pool.query<{ request_hash: string; resource_id: string }>(
      `SELECT request_hash, resource_id FROM idempotency_keys WHERE tenant_id = $1 AND scope = 'change.create' AND key = $2`,
      [tenantId, key],
    )).rows[0];
  let row = await existing();
  if (!row) {
    const number = await allocateChangeNumber(pool, tenantId);
    await pool.query(
      `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, resource_id) VALUES ($1, 'change.create', $2, $3, $4) ON CONFLICT DO NOTHING`,
      [tenantId, key, hash, String(number)],
    );
    row = await existing();
  }
  if (row.request_hash !== hash) {
    throw new Unprocessable('This Idempotency-Key was already used with a different request body', 'IDEMPOTENCY_KEY_REUSED');
  }
  return Number(row.resource_id);
}

export async function updateChangeWorkflow<Body>(
  c: Context<AppEnv>,
  id: string,
  operation: string,
  definition: UpdateDefinition<Change, [Body, CommandMeta]>,
  body: Body,
): Promise<Change> {
  const { pool, temporal } = c.get('deps');
  const { tenantId } = principalOf(c);
  if (!CHANGE_ID_PATTERN.test(id)) throw new NotFound(`Change ${id} not found`);
  const client = await temporal.client();
  const handle = client.workflow.getHandle(workflowId(tenantId, 'change', id));
  try {
    return await withinCommandTimeout(c, client, () => handle.executeUpdate(definition, { args: [body, meta(c)], updateId: updateIdFor(c, operation) ?? randomUUID() }));
  } catch (err) {
    if (!isWorkflowGone(err)) throw err;
    // The workflow ends when the change closes or is cancelled; the row tells which.
    const change = await findChange(pool, tenantId, id);
    if (!change) throw new NotFound(`Change ${id} not found`);
    throw new Conflict(`Change ${id} is ${change.state} and accepts no further commands`, 'CHANGE_CLOSED', {
      current_state: change.state,
      allowed_next_states: allowedNextStates(change),
    });
  }
}

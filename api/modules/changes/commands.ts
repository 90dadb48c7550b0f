import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { ChangeCommand, CreateChangeInput } from '../../../domain/changes/commands';
import { CHANGE_ID_PATTERN, changeNumberToId, type Change } from '../../../domain/changes/model';
import { authorize, needsChangeToAuthorize } from '../../../domain/changes/permissions';
import { allowedNextStates } from '../../../domain/changes/state-machine';
import { DomainError } from '../../../domain/errors';
import { SA } from '../../../domain/search-attributes';
import { workflowId } from '../../../domain/workflow-ids';
import type { changeLifecycle } from '../../../workflows/changes/change-lifecycle';
import { CHANGE_WORKFLOW_TYPE, createChange, type CommandMeta } from '../../../workflows/changes/messages';
import type { AppEnv } from '../../context';
import { Conflict, Forbidden, NotFound } from '../../errors';
import { useIdempotencyKey } from '../../idempotency';
import { actorOf, principalOf } from '../../principal';
import { isWorkflowGone } from '../../temporal-errors';
import { allocateChangeNumber, findChange } from './queries';

/** Sends change commands to their workflows; the API never writes a change row itself. */

/** Idempotency keys of change commands live in this scope (api/idempotency.ts). */
const KEY_SCOPE = 'change';

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

/**
 * The workflow checks the same table on every command; checking it here first
 * answers a refused caller before any Idempotency-Key is looked at or bound,
 * and without a round trip to Temporal. Only a caller who may be a named
 * approver needs the change read to decide.
 */
async function authorizeChangeCommand(c: Context<AppEnv>, id: string | undefined, command: ChangeCommand): Promise<void> {
  const principal = principalOf(c);
  let change: Change | undefined;
  if (id !== undefined && needsChangeToAuthorize(command, principal)) {
    change = await findChange(c.get('deps').pool, principal.tenantId, id);
    if (!change) throw new NotFound(`Change ${id} not found`);
  }
  try {
    authorize(change, command, principal);
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'forbidden') throw new Forbidden(err.message, err.code, { ...err.details, roles: principal.roles });
    throw err;
  }
}

export async function createChangeWorkflow(c: Context<AppEnv>, body: CreateChangeInput): Promise<Change> {
  const { pool, temporal, config } = c.get('deps');
  const { tenantId, userId, email } = principalOf(c);
  await authorizeChangeCommand(c, undefined, { kind: 'create', input: body });
  const allocate = async () => changeNumberToId(await allocateChangeNumber(pool, tenantId));
  // A keyed create resolves to the change its key's first use allocated.
  const keyed = await useIdempotencyKey(c, { scope: KEY_SCOPE, operation: 'create', body }, allocate);
  if (keyed?.outcome) return keyed.outcome as Change;
  const id = keyed?.resource ?? (await allocate());
  // The key records the change id; the workflow also wants the bare number.
  const number = Number(id.replace(/^CHG/, ''));
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
  const change = await withinCommandTimeout(c, client, () =>
    client.workflow.executeUpdateWithStart(createChange, { args: [body, meta(c)], updateId: keyed?.updateId ?? randomUUID(), startWorkflowOperation: start }),
  );
  await keyed?.remember(change);
  return change;
}

/**
 * Sends one command to its change's workflow. `command` is what the domain
 * authorizes (the same value the workflow will decide on); the update carries
 * the body. A keyed retry of a command that already succeeded gets the first
 * answer back, even once the workflow has ended.
 */
export async function updateChangeWorkflow<Body>(
  c: Context<AppEnv>,
  id: string,
  definition: UpdateDefinition<Change, [Body, CommandMeta]>,
  body: Body,
  command: ChangeCommand,
): Promise<Change> {
  const { pool, temporal } = c.get('deps');
  const { tenantId } = principalOf(c);
  if (!CHANGE_ID_PATTERN.test(id)) throw new NotFound(`Change ${id} not found`);
  await authorizeChangeCommand(c, id, command);
  const keyed = await useIdempotencyKey(c, { scope: KEY_SCOPE, operation: definition.name, resource: id, body });
  if (keyed?.outcome) return keyed.outcome as Change;
  const client = await temporal.client();
  const handle = client.workflow.getHandle(workflowId(tenantId, 'change', id));
  let change: Change;
  try {
    change = await withinCommandTimeout(c, client, () => handle.executeUpdate(definition, { args: [body, meta(c)], updateId: keyed?.updateId ?? randomUUID() }));
  } catch (err) {
    if (!isWorkflowGone(err)) throw err;
    // The workflow ends when the change closes or is cancelled; the row tells which.
    const current = await findChange(pool, tenantId, id);
    if (!current) throw new NotFound(`Change ${id} not found`);
    throw new Conflict(`Change ${id} is ${current.state} and accepts no further commands`, 'CHANGE_CLOSED', {
      current_state: current.state,
      allowed_next_states: allowedNextStates(current),
    });
  }
  await keyed?.remember(change);
  return change;
}

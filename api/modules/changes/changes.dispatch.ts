import type { Context } from 'hono';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { ChangeCommand, CreateChangeInput } from '../../../domain/changes/requests';
import { CHANGE_ID_PATTERN, changeNumberToId, type Change } from '../../../domain/changes/model';
import { authorize, needsChangeToAuthorize } from '../../../domain/changes/permissions';
import { allowedNextStates } from '../../../domain/changes/state-machine';
import { DomainError } from '../../../domain/errors';
import type { changeLifecycle } from '../../../workflows/changes/change-lifecycle';
import { CHANGE_WORKFLOW_TYPE, createChange, searchAttributesOf, type ChangeWorkflowInput } from '../../../workflows/changes/messages';
import type { AppEnv } from '../../context';
import { Conflict, Forbidden, NotFound } from '../../errors';
import { principalOf } from '../../principal';
import { createWithUpdate, sendUpdate } from '../../workflow-commands';
import { allocateChangeNumber, findChange } from './changes.queries';

/** Sends change commands to their workflows; the API never writes a change row itself. */

const KEY_SCOPE = 'change';

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
  const { pool, config } = c.get('deps');
  const { tenantId, userId, email } = principalOf(c);
  await authorizeChangeCommand(c, undefined, { kind: 'create', input: body });
  return createWithUpdate<Change, CreateChangeInput, typeof changeLifecycle>(c, {
    kind: 'change',
    workflowType: CHANGE_WORKFLOW_TYPE,
    definition: createChange,
    body,
    scope: KEY_SCOPE,
    allocate: async () => changeNumberToId(await allocateChangeNumber(pool, tenantId)),
    start: (id) => ({
      args: [
        {
          tenantId,
          changeId: id,
          // The key records the change id; the workflow also wants the bare number.
          number: Number(id.replace(/^CHG/, '')),
          settings: { reviewDeadlineMs: config.CHANGE_REVIEW_DEADLINE, defaultCabQuorum: config.CHANGE_CAB_QUORUM },
        } satisfies ChangeWorkflowInput,
      ],
      searchAttributes: searchAttributesOf(tenantId, { id, state: 'draft', type: body.type }),
      summary: body.short_description,
      details: `${id}: ${body.type} change requested by ${email ?? userId}${body.assignment_group ? ` for ${body.assignment_group}` : ''}`,
    }),
  });
}

/**
 * Sends one command to its change's workflow. `command` is what the domain
 * authorizes (the same value the workflow will decide on); the update carries
 * the body. A keyed retry of a command that already succeeded gets the first
 * answer back, even once the workflow has ended.
 */
export async function updateChangeWorkflow<B>(c: Context<AppEnv>, id: string, definition: UpdateDefinition<Change, [B, CommandMeta]>, body: B, command: ChangeCommand): Promise<Change> {
  const { tenantId } = principalOf(c);
  if (!CHANGE_ID_PATTERN.test(id)) throw new NotFound(`Change ${id} not found`);
  await authorizeChangeCommand(c, id, command);
  return sendUpdate(c, {
    kind: 'change',
    id,
    definition,
    body,
    scope: KEY_SCOPE,
    // The workflow ends when the change closes or is cancelled; the row tells which.
    async gone() {
      const current = await findChange(c.get('deps').pool, tenantId, id);
      if (!current) throw new NotFound(`Change ${id} not found`);
      throw new Conflict(`Change ${id} is ${current.state} and accepts no further commands`, 'CHANGE_CLOSED', {
        current_state: current.state,
        allowed_next_states: allowedNextStates(current),
      });
    },
  });
}

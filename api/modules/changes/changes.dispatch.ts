import type { Context } from 'hono';
import type { UpdateDefinition } from '@temporalio/common';
import type { CommandMeta } from '../../../domain/actor';
import type { ChangeCommand, CreateChangeInput } from '../../../domain/changes/requests';
import { CHANGE_ID_PATTERN, changeNumberToId, type Change, type ChangeState } from '../../../domain/changes/model';
import { authorize, needsChangeToAuthorize } from '../../../domain/changes/permissions';
import { allowedNextStates } from '../../../domain/changes/state-machine';
import { DomainError } from '../../../domain/errors';
import type { changeLifecycle } from '../../../workflows/changes/change-lifecycle';
import { changeTitle } from '../../../domain/workflow-titles';
import { CHANGE_WORKFLOW_TYPE, createChange, searchAttributesOf, type ChangeWorkflowInput } from '../../../workflows/changes/messages';
import type { AppEnv } from '../../context';
import { Conflict, Forbidden, NotFound } from '../../errors';
import { actorOf, principalOf } from '../../principal';
import { createWithUpdate, sendUpdate } from '../../workflow-commands';
import { endedOutsideConflict, reconcilePathOf, reconcileRecord, startNewRun, type EndedRecordSpec } from '../../ended-outside';
import { persistChangeActivity } from '../../../activities/changes/persist-change';
import { changeResumable, resumeChange } from '../../../domain/changes/ended-outside';
import { workflowId } from '../../../domain/workflow-ids';
import { allocateChangeId, changeStartOptions } from '../../../dispatch/change-start';
import { findChange } from './changes.queries';

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
    allocate: () => allocateChangeId(pool, tenantId),
    start: (id) => changeStartOptions(config, tenantId, id, body, { userId, email }),
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
    // The workflow ends when the change closes or is cancelled (the row tells which), or when someone ended it outside Tollgate.
    async gone() {
      const ended = await endedOutsideConflict(c, endedChange(c, id));
      if (ended) throw ended;
      const current = await findChange(c.get('deps').pool, tenantId, id);
      if (!current) throw new NotFound(`Change ${id} not found`);
      throw new Conflict(`Change ${id} is ${current.state} and accepts no further commands`, 'CHANGE_CLOSED', {
        current_state: current.state,
        allowed_next_states: allowedNextStates(current),
      });
    },
  });
}

/** A change as the ended-outside checks see it (api/ended-outside.ts). */
function endedChange(c: Context<AppEnv>, id: string): EndedRecordSpec<Change> {
  const { tenantId } = principalOf(c);
  return {
    kind: 'change',
    id,
    noun: 'Change',
    read: () => findChange(c.get('deps').pool, tenantId, id),
    notFound: () => new NotFound(`Change ${id} not found`),
    stateField: 'state',
    resumable: (previous) => changeResumable(previous as ChangeState),
    instead: 'create a new change',
    reconcilePath: reconcilePathOf(c, id),
  };
}

/**
 * POST /changes/{id}/reconcile: a new run of the change's workflow carrying the
 * change as its row last recorded it, back in the state it had before the mark.
 * The run is started first, so the row never shows a live state without one.
 */
export async function reconcileChange(c: Context<AppEnv>, id: string): Promise<Change> {
  if (!CHANGE_ID_PATTERN.test(id)) throw new NotFound(`Change ${id} not found`);
  const { pool, config } = c.get('deps');
  const { tenantId } = principalOf(c);
  return reconcileRecord(c, endedChange(c, id), async (marked, previous, mark) => {
    const resumed = resumeChange(marked, previous as ChangeState, new Date().toISOString());
    const input: ChangeWorkflowInput = {
      tenantId,
      changeId: id,
      number: marked.number,
      settings: { reviewDeadlineMs: config.CHANGE_REVIEW_DEADLINE, defaultCabQuorum: config.CHANGE_CAB_QUORUM },
      carried: resumed.next,
    };
    await startNewRun(c, `Change ${id}`, {
      workflowType: CHANGE_WORKFLOW_TYPE,
      workflowId: workflowId(tenantId, 'change', id),
      args: [input],
      // The run publishes the rest (risk, group, flags) as it takes the carried change up.
      searchAttributes: searchAttributesOf(tenantId, { id, state: resumed.next.state, type: resumed.next.type }, changeTitle(marked)),
      summary: marked.short_description,
      details: `${id}: started again from its record after its previous run was ${mark.ending.how} outside Tollgate`,
    });
    await persistChangeActivity({ pool, config, log: c.get('log') })({
      tenantId,
      change: resumed.next,
      events: resumed.events,
      actor: actorOf(c),
      requestId: c.get('requestId'),
      assessed: false,
    });
    return resumed.next;
  });
}

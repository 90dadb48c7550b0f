import type { Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { allocateChangeId, changeStartOptions } from '../../../dispatch/change-start';
import type { Actor, CommandMeta } from '../../../domain/actor';
import type { Change } from '../../../domain/changes/model';
import { createChangeSchema, type CreateChangeInput } from '../../../domain/changes/requests';
import type { StepRequest, StepResult } from '../../../domain/templates/model';
import { changeBodyOf, changeStepMove, type ChangeStepInputs } from '../../../domain/templates/step-changes';
import { STEP_PERMISSIONS } from '../../../domain/templates/step-permissions';
import { workflowId } from '../../../domain/workflow-ids';
import type { Pool } from '../../../platform/db';
import { cancelChange, CHANGE_WORKFLOW_TYPE, createChange, submitCab, submitChange } from '../../../workflows/changes/messages';
import type { ActivityDeps } from '../../deps';
import { pause, stepStartOperation, type StepTask } from './step-client';
import { asStepFailure, refusalOf, stepFailure, stepInputs } from './step-failures';
import { stepRequestId } from './step-ids';

export interface ChangeStepDeps extends ActivityDeps {
  client: () => Promise<Client>;
}

/** How often a waiting step looks at the change's row (and heartbeats). */
const LOOK_EVERY_MS = 1_000;

/**
 * The `change-request` step: opens a change through the changes module's own
 * create (dispatch/change-start.ts, the start POST /changes makes, then the
 * workflow's create update with its rules), submits it, sends a normal change
 * to CAB review, and waits until it is scheduled. The change's id is taken
 * once per run, node and item and kept (template_step_resources), so a step
 * tried again finds its change instead of opening a second one. The commands
 * act as the run's requester, holding what the run's start checked they hold.
 */
export function changeRequestStep(deps: ChangeStepDeps) {
  return async (request: StepRequest, task: StepTask): Promise<StepResult> => {
    const inputs = stepInputs(request, 'change-request') as ChangeStepInputs;
    const parsed = createChangeSchema.safeParse(changeBodyOf(inputs, `Opened by template run ${request.runId}, step ${request.nodeId}`));
    if (!parsed.success) {
      throw stepFailure('INVALID_STEP_INPUTS', `The change this step opens is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
    }
    const actor: Actor = { userId: request.requestedBy.userId, ...(request.requestedBy.email ? { email: request.requestedBy.email } : {}), permissions: [...STEP_PERMISSIONS['change-request']] };
    const meta: CommandMeta = { actor, requestId: stepRequestId(request) };
    let id: string | undefined;
    try {
      id = await claimChangeId(deps.pool, request);
      if (!(await findChange(deps.pool, request.tenantId, id))) await openChange(deps, request, id, parsed.data, meta);
      for (;;) {
        const change = await findChange(deps.pool, request.tenantId, id);
        if (!change) throw new Error(`Change ${id} has no row after its create answered`);
        const move = changeStepMove(change);
        if (move.kind === 'succeeded') return { outputs: { changeId: change.id, state: change.state, riskLevel: change.risk_level, riskScore: change.risk_score } };
        if (move.kind === 'failed') throw stepFailure(move.code, move.message, { changeId: change.id, state: change.state });
        if (move.kind === 'submit' || move.kind === 'submit_cab') await command(deps, request.tenantId, change, move.kind, meta);
        else {
          task.heartbeat({ changeId: id, state: change.state, waitingFor: move.waitingFor });
          await pause(LOOK_EVERY_MS, task.signal);
        }
      }
    } catch (err) {
      if (task.signal.aborted) {
        if (id) await cancelOwnChange(deps, request.tenantId, id, meta);
        throw err instanceof CancelledFailure ? err : new CancelledFailure('the template run cancelled this step');
      }
      throw refusalOf(err, 'CHANGE_REFUSED') ?? asStepFailure(err);
    }
  };
}

/** The change id of this run, node and item: taken from the tenant's sequence the first time, read back every time after. */
async function claimChangeId(pool: Pool, request: StepRequest): Promise<string> {
  const key = [request.tenantId, request.runId, request.nodeId, request.itemIndex ?? -1];
  const read = async () =>
    (await pool.query<{ resource_id: string }>("SELECT resource_id FROM template_step_resources WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND item_index = $4 AND kind = 'change'", key)).rows[0]?.resource_id;
  const known = await read();
  if (known) return known;
  const id = await allocateChangeId(pool, request.tenantId);
  // Two tries at once: the first insert wins and both use its id.
  await pool.query("INSERT INTO template_step_resources (tenant_id, run_id, node_id, item_index, kind, resource_id) VALUES ($1, $2, $3, $4, 'change', $5) ON CONFLICT DO NOTHING", [...key, id]);
  return (await read())!;
}

async function openChange(deps: ChangeStepDeps, request: StepRequest, id: string, body: CreateChangeInput, meta: CommandMeta): Promise<void> {
  const client = await deps.client();
  const options = changeStartOptions(deps.config, request.tenantId, id, body, request.requestedBy);
  const start = stepStartOperation(deps.config, request, 'change', id, CHANGE_WORKFLOW_TYPE, options);
  await client.workflow.executeUpdateWithStart(createChange, { args: [body, meta], updateId: `template-step:${id}`, startWorkflowOperation: start });
}

/** Submit or send to CAB, once per version of the change: the same try repeated is one command, a later state's is another. */
async function command(deps: ChangeStepDeps, tenantId: string, change: Change, kind: 'submit' | 'submit_cab', meta: CommandMeta): Promise<void> {
  const handle = (await deps.client()).workflow.getHandle(workflowId(tenantId, 'change', change.id));
  const updateId = `template-step:${change.id}:${kind}:${change.version}`;
  if (kind === 'submit') await handle.executeUpdate(submitChange, { args: [{}, meta], updateId });
  else await handle.executeUpdate(submitCab, { args: [{ notes: `Sent to CAB by template run ${meta.requestId}` }, meta], updateId });
}

/**
 * A cancelled run cancels its change while it is still a draft (the only state
 * a change can be cancelled from); a change already submitted stays with its
 * CAB, which can reject it. Best effort: the step ends cancelled whatever the change says.
 */
async function cancelOwnChange(deps: ChangeStepDeps, tenantId: string, id: string, meta: CommandMeta): Promise<void> {
  const change = await findChange(deps.pool, tenantId, id).catch(() => undefined);
  if (change?.state !== 'draft') return;
  try {
    await (await deps.client()).workflow.getHandle(workflowId(tenantId, 'change', id)).executeUpdate(cancelChange, { args: [{ reason: 'the template run that opened it was cancelled' }, meta] });
  } catch (err) {
    deps.log.warn({ err, changeId: id }, 'template step: the change of a cancelled run could not be cancelled');
  }
}

async function findChange(pool: Pool, tenantId: string, id: string): Promise<Change | undefined> {
  const { rows } = await pool.query<{ body: Change }>('SELECT body FROM changes WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

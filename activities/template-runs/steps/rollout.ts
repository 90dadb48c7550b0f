import type { Client } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { withRolloutPlan } from '../../../dispatch/rollout-start';
import type { Actor, CommandMeta } from '../../../domain/actor';
import type { Rollout } from '../../../domain/rollouts/model';
import type { StepRequest, StepResult } from '../../../domain/templates/model';
import { STEP_PERMISSIONS } from '../../../domain/templates/step-permissions';
import { rolloutStepMove } from '../../../domain/templates/step-rollouts';
import { workflowId } from '../../../domain/workflow-ids';
import type { Pool } from '../../../platform/db';
import { rollbackRollout, startRollout } from '../../../workflows/rollouts/messages';
import type { ActivityDeps } from '../../deps';
import { pause, type StepTask } from './step-client';
import { asStepFailure, refusalOf, stepFailure, stepInputs } from './step-failures';
import { stepRequestId } from './step-ids';

export interface RolloutStepDeps extends ActivityDeps {
  client: () => Promise<Client>;
}

/** How often a waiting step looks at the rollout's row (and heartbeats). */
const LOOK_EVERY_MS = 1_000;

/**
 * The `rollout` step: starts a created rollout through the rollouts module's
 * own start (dispatch/rollout-start.ts: one rollout per environment, the
 * deploy clearance, the plan with its router agent, as POST …/start runs it)
 * and waits for its outcome. A step tried again finds the rollout running and
 * only waits. The start acts as the run's requester with `rollout:operate`
 * alone (checked when the run started): a frozen environment refuses it.
 */
export function rolloutStep(deps: RolloutStepDeps) {
  return async (request: StepRequest, task: StepTask): Promise<StepResult> => {
    const input = stepInputs(request, 'rollout') as { rolloutId: string; reason?: string };
    const actor: Actor = { userId: request.requestedBy.userId, ...(request.requestedBy.email ? { email: request.requestedBy.email } : {}), permissions: [...STEP_PERMISSIONS.rollout] };
    const meta: CommandMeta = { actor, requestId: stepRequestId(request) };
    const reason = input.reason?.trim() || `Started by template run ${request.runId}, step ${request.nodeId}`;
    let started = false;
    try {
      for (;;) {
        const r = await findRollout(deps.pool, request.tenantId, input.rolloutId);
        if (!r) throw stepFailure('ROLLOUT_NOT_FOUND', `Rollout ${input.rolloutId} not found`);
        const move = rolloutStepMove(r);
        const outputs = { rolloutId: r.id, state: r.state, canaryWeight: r.canaryWeight };
        if (move.kind === 'succeeded') return { outputs };
        if (move.kind === 'failed') throw stepFailure(move.code, move.message, outputs);
        if (move.kind === 'start') {
          await start(deps, request.tenantId, r, actor, reason, meta);
          started = true;
        } else {
          task.heartbeat({ rolloutId: r.id, state: r.state, canaryWeight: r.canaryWeight });
          await pause(LOOK_EVERY_MS, task.signal);
        }
      }
    } catch (err) {
      if (task.signal.aborted) {
        await rollBackOwnRollout(deps, request.tenantId, input.rolloutId, started, meta);
        throw err instanceof CancelledFailure ? err : new CancelledFailure('the template run cancelled this step');
      }
      throw refusalOf(err, 'ROLLOUT_REFUSED') ?? asStepFailure(err);
    }
  };
}

async function start(deps: RolloutStepDeps, tenantId: string, r: Rollout, actor: Actor, reason: string, meta: CommandMeta): Promise<void> {
  const client = await deps.client();
  const workflowRunning = async (id: string) => {
    try {
      return (await client.workflow.getHandle(workflowId(tenantId, 'rollout', id)).describe()).status.name === 'RUNNING';
    } catch {
      return false;
    }
  };
  await withRolloutPlan(deps.pool, tenantId, r, { actor, reason, workflowRunning }, (plan) =>
    // Once per version of the rollout: the same try repeated is one start.
    client.workflow.getHandle(workflowId(tenantId, 'rollout', r.id)).executeUpdate(startRollout, { args: [{ input: { reason }, plan }, meta], updateId: `template-step:${r.id}:start:${r.version}` }),
  );
}

/**
 * A cancelled run rolls back the rollout its step started (traffic back to
 * stable at once), as a person's rollback would. Best effort: the step ends
 * cancelled whatever the rollout says.
 */
async function rollBackOwnRollout(deps: RolloutStepDeps, tenantId: string, id: string, started: boolean, meta: CommandMeta): Promise<void> {
  const r = await findRollout(deps.pool, tenantId, id).catch(() => undefined);
  if (!started || !r || rolloutStepMove(r).kind !== 'wait') return;
  try {
    await (await deps.client()).workflow.getHandle(workflowId(tenantId, 'rollout', id)).executeUpdate(rollbackRollout, { args: [{ reason: 'the template run that started it was cancelled' }, meta] });
  } catch (err) {
    deps.log.warn({ err, rolloutId: id }, 'template step: the rollout of a cancelled run could not be rolled back');
  }
}

async function findRollout(pool: Pool, tenantId: string, id: string): Promise<Rollout | undefined> {
  const { rows } = await pool.query<{ body: Rollout }>('SELECT body FROM rollouts WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { markRolloutEnded } from '../../domain/rollouts/ended-outside';
import type { Rollout } from '../../domain/rollouts/model';
import type { WorkflowEnding } from '../../domain/workflow-endings';
import { workflowId } from '../../domain/workflow-ids';
import { rolloutTitle } from '../../domain/workflow-titles';
import { ROLLOUT_WORKFLOW_TYPE, searchAttributesOf, type RolloutWorkflowInput } from '../../workflows/rollouts/messages';
import type { ActivityDeps } from '../deps';
import { rolloutActivities } from './index';

/**
 * A rollout whose workflow ended outside Tollgate. Unlike a change or a
 * promotion it is never resumed where it stood; but the router may still send
 * the canary its share, and only a workflow reaches the router's agent. So the
 * mark is followed at once by a new run of the rollout's own workflow carrying
 * the marked row: its loop puts traffic back on stable (retrying while the
 * agent is away, under the same lock as every traffic change), records the
 * read-back, and then takes `retry` like any aborted or failed rollout.
 */

export async function markRollout(deps: ActivityDeps, tenantId: string, body: Rollout, ending: WorkflowEnding): Promise<void> {
  const marked = markRolloutEnded(body, ending, new Date().toISOString());
  if (!marked) return;
  await rolloutActivities(deps).persistRollout({ tenantId, rollout: marked.next, events: marked.events, actor: { userId: ending.by, permissions: [] } });
}

/**
 * Starts the run that carries the rollout as its row stands now; false when a
 * run is open already (a command and the sweep raced, or a reconcile did it).
 */
export async function openRolloutRun(deps: ActivityDeps & { client: Client }, tenantId: string, id: string, why: string): Promise<boolean> {
  const row = (await deps.pool.query<{ body: Rollout }>('SELECT body FROM rollouts WHERE tenant_id = $1 AND id = $2', [tenantId, id])).rows[0]?.body;
  if (!row || row.state === 'completed') return false;
  const input: RolloutWorkflowInput = { tenantId, rolloutId: id, agentPickupTimeoutMs: deps.config.ROLLOUT_AGENT_PICKUP_TIMEOUT, carried: row };
  try {
    await deps.client.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
      workflowId: workflowId(tenantId, 'rollout', id),
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: searchAttributesOf(tenantId, row, rolloutTitle(row)),
      staticSummary: `${row.name} (${row.strategy})`,
      staticDetails: `Rollout ${id} carried into a new run: ${why}`,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

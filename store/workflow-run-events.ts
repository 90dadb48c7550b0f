import type { Pool, PoolClient } from '../platform/db';

/**
 * The change event every write to a workflow run's row or its log lines
 * publishes (the run's workflow through its persistence activities, the API
 * for the row a create writes), so the run's stream wakes up without polling.
 * Kept small: readers fetch the rows themselves.
 */
export const WORKFLOW_RUN_CHANNEL = 'workflow_run_events';

export interface WorkflowRunEvent {
  tenantId: string;
  runId: string;
  kind: 'run' | 'log';
  nodeId?: string;
}

/** Sent inside the writer's transaction: Postgres delivers it on commit, so a woken reader finds the row. */
export async function notifyWorkflowRun(db: Pool | PoolClient, event: WorkflowRunEvent): Promise<void> {
  await db.query(`SELECT pg_notify('${WORKFLOW_RUN_CHANNEL}', $1)`, [JSON.stringify(event)]);
}

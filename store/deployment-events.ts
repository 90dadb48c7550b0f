import type { Pool, PoolClient } from '../platform/db';

/**
 * The change event every write to a deployment job, task, log chunk or artifact
 * publishes, so live streams (the job's WebSocket, an agent's task stream) wake
 * up without polling. Kept small: readers fetch the rows themselves. Sent inside
 * the writer's transaction, Postgres delivers it only on commit, so a reader
 * woken by it always finds the row it announces.
 */
export const DEPLOYMENT_CHANNEL = 'tollgate_deployments';

export interface DeploymentEvent {
  tenantId: string;
  kind: 'job' | 'task' | 'log' | 'artifact';
  jobId: string;
  taskId?: string;
  agentId?: string;
}

/** Absent or null ids are left out of the payload. */
export async function notifyDeployment(
  db: Pool | PoolClient,
  event: Omit<DeploymentEvent, 'taskId' | 'agentId'> & { taskId?: string | null; agentId?: string | null },
): Promise<void> {
  const payload: DeploymentEvent = { tenantId: event.tenantId, kind: event.kind, jobId: event.jobId };
  if (event.taskId) payload.taskId = event.taskId;
  if (event.agentId) payload.agentId = event.agentId;
  await db.query(`SELECT pg_notify('${DEPLOYMENT_CHANNEL}', $1)`, [JSON.stringify(payload)]);
}

import type { DeploymentTask } from '../../domain/deployments/model';
import { storableCopy } from '../../domain/text';
import { withTransaction, type Pool } from '../../platform/db';
import { notifyDeployment } from '../../store/deployment-events';

export interface PersistTaskInput {
  tenantId: string;
  task: DeploymentTask;
}

/**
 * Writes the task's row when its version is newer. The log's size and cap and
 * how a cancelled hook was stopped arrive from the agent through the log
 * ingestion API, which owns those columns: this write leaves them alone and
 * keeps the log's size out of the body, so the two writers never undo each other.
 */
export async function persistDeploymentTask(pool: Pool, input: PersistTaskInput): Promise<void> {
  const { tenantId } = input;
  // A task quotes what its target and hook said (errors, health answers): stored as text Postgres keeps, whatever
  // sent it, so no write of the task or its job is ever refused for it and the job always reaches its end.
  const task = storableCopy(input.task);
  // Only the cap stays in the body: it is the job's setting, while size and capped are the ingestion's columns.
  const { log, ...rest } = task;
  const body = { ...rest, log: { capBytes: log.capBytes } };
  await withTransaction(pool, async (db) => {
    const row = await db.query(
      `INSERT INTO deployment_tasks (tenant_id, id, job_id, target_id, agent_id, phase, attempt, status, version, body)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
       ON CONFLICT (tenant_id, id) DO UPDATE SET agent_id = EXCLUDED.agent_id, attempt = EXCLUDED.attempt, status = EXCLUDED.status,
         version = EXCLUDED.version, updated_at = now(), body = EXCLUDED.body
       WHERE deployment_tasks.version < EXCLUDED.version`,
      [tenantId, task.id, task.jobId, task.targetId, task.agentId, task.phase, task.attempt, task.status, task.version, JSON.stringify(body)],
    );
    if ((row.rowCount ?? 0) === 0) return;
    await notifyDeployment(db, { tenantId, kind: 'task', jobId: task.jobId, taskId: task.id, agentId: task.agentId });
  });
}

import { createHash, randomUUID } from 'node:crypto';
import type { DeploymentJob, DeploymentTask } from '../../domain/deployments/model';
import type { Pool } from '../../platform/db';

/**
 * Deployment read-model rows written straight into Postgres, as the
 * deploymentJob workflow's activities and the agents write them, for tests of
 * the reads and the live streams that need no running job. `notify` publishes
 * the change event every real writer sends.
 */

export function jobBody(tenant: string, overrides: Partial<DeploymentJob> = {}): DeploymentJob {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    version: 1,
    kind: 'promotion',
    status: 'running',
    statusReason: null,
    environmentId: randomUUID(),
    environmentName: 'Production',
    releaseId: randomUUID(),
    releaseName: 'shop-1.0.0',
    releaseVersion: '1.0.0',
    promotionId: randomUUID(),
    rollbackId: null,
    strategy: { type: 'all-at-once' },
    failurePolicy: 'pause',
    labelSelector: {},
    requestedBy: `dev@${tenant}.example.com`,
    queuePosition: null,
    pausedOn: null,
    progress: { total: 1, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, running: 1, pending: 0 },
    batch: { index: 1, count: 1 },
    decisions: [],
    createdAt: now,
    startedAt: now,
    finishedAt: null,
    updatedAt: now,
    ...overrides,
  };
}

export function taskBody(job: DeploymentJob, overrides: Partial<DeploymentTask> = {}): DeploymentTask {
  return {
    id: randomUUID(),
    version: 1,
    jobId: job.id,
    targetId: randomUUID(),
    targetName: 'web-1',
    agentId: randomUUID(),
    phase: 'deploy',
    attempt: 1,
    status: 'running',
    releaseId: job.releaseId,
    releaseName: job.releaseName,
    releaseVersion: job.releaseVersion,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    exitCode: null,
    healthChecks: 0,
    error: null,
    stoppedBy: null,
    log: { size: 0, capped: false, capBytes: 1_048_576 },
    ...overrides,
  };
}

export async function notify(pool: Pool, event: { tenantId: string; kind: 'job' | 'task' | 'log' | 'artifact'; jobId: string; taskId?: string; agentId?: string }) {
  await pool.query(`SELECT pg_notify('tollgate_deployments', $1)`, [JSON.stringify(event)]);
}

/** Inserts the job, or replaces it when the body's version is newer (as persistDeploymentJob does). */
export async function putJob(pool: Pool, tenant: string, job: DeploymentJob): Promise<DeploymentJob> {
  await pool.query(
    `INSERT INTO deployment_jobs (tenant_id, id, version, kind, environment_id, release_id, promotion_id, rollback_id, status, created_at, updated_at, body)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
     ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body
       WHERE deployment_jobs.version < EXCLUDED.version`,
    [tenant, job.id, job.version, job.kind, job.environmentId, job.releaseId, job.promotionId, job.rollbackId, job.status, job.createdAt, job.updatedAt, JSON.stringify(job)],
  );
  return job;
}

export async function putTask(pool: Pool, tenant: string, task: DeploymentTask, createdAt = new Date()): Promise<DeploymentTask> {
  await pool.query(
    `INSERT INTO deployment_tasks (tenant_id, id, job_id, target_id, agent_id, phase, attempt, status, version, created_at, updated_at, body)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10,$11)
     ON CONFLICT (tenant_id, id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version, body = EXCLUDED.body, updated_at = now()
       WHERE deployment_tasks.version < EXCLUDED.version`,
    [tenant, task.id, task.jobId, task.targetId, task.agentId, task.phase, task.attempt, task.status, task.version, createdAt, JSON.stringify(task)],
  );
  return task;
}

/**
 * Appends a chunk at the log's current end (as the agents' log route does) and answers its offset; `at` puts it
 * further on, leaving the hole a capped log has between its head and its tail.
 */
export async function appendLog(pool: Pool, tenant: string, taskId: string, data: string, options: { capped?: boolean; stoppedBy?: string; at?: number } = {}): Promise<number> {
  const { rows } = await pool.query<{ log_size: number }>('SELECT log_size FROM deployment_tasks WHERE tenant_id = $1 AND id = $2', [tenant, taskId]);
  const offset = options.at ?? rows[0].log_size;
  await pool.query('INSERT INTO deployment_task_logs (tenant_id, task_id, "offset", data) VALUES ($1,$2,$3,$4)', [tenant, taskId, offset, data]);
  await pool.query('UPDATE deployment_tasks SET log_size = $3, log_capped = $4, stopped_by = COALESCE($5, stopped_by) WHERE tenant_id = $1 AND id = $2', [
    tenant,
    taskId,
    offset + data.length,
    options.capped ?? false,
    options.stoppedBy ?? null,
  ]);
  return offset;
}

export async function putArtifact(pool: Pool, tenant: string, task: DeploymentTask, name: string, content: Buffer) {
  const id = randomUUID();
  const sha256 = createHash('sha256').update(content).digest('hex');
  await pool.query('INSERT INTO deployment_artifacts (tenant_id, id, job_id, task_id, name, size, sha256, content) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', [
    tenant,
    id,
    task.jobId,
    task.id,
    name,
    content.length,
    sha256,
    content,
  ]);
  return { id, sha256, size: content.length };
}

export async function claim(pool: Pool, tenant: string, task: DeploymentTask) {
  await pool.query('INSERT INTO deployment_ledger (tenant_id, job_id, target_id, phase, attempt, task_id, agent_id) VALUES ($1,$2,$3,$4,$5,$6,$7)', [
    tenant,
    task.jobId,
    task.targetId,
    task.phase,
    task.attempt,
    task.id,
    task.agentId,
  ]);
}

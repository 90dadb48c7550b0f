import { FINISHED_JOB_STATUSES } from '../../domain/deployments/model';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db';

export interface SlotInput {
  tenantId: string;
  environmentId: string;
  jobId: string;
}

export interface SlotAnswer {
  acquired: boolean;
  /** 0 when acquired; else where the job stands in line, 1 = next. */
  position: number;
  holderJobId: string | null;
}

/**
 * One job per environment runs at a time; the others wait in the order they
 * were created. Both operations serialise on an advisory lock per environment
 * (not the environment's row, which would stall edits of the environment), so
 * two jobs asking at once cannot both take a free slot.
 */
async function lockEnvironment(db: PoolClient, tenantId: string, environmentId: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`deploy-slot:${tenantId}:${environmentId}`]);
}

/**
 * The slot is this job's if it holds it already, or if it is free and no other
 * queued job of the environment came first. A holder whose job has finished
 * (its workflow ended without giving the slot back) is stale and is replaced.
 */
export async function acquireEnvironmentSlot(pool: Pool, input: SlotInput): Promise<SlotAnswer> {
  const { tenantId, environmentId, jobId } = input;
  return withTransaction(pool, async (db) => {
    await lockEnvironment(db, tenantId, environmentId);
    const slot = (
      await db.query(
        `SELECT s.job_id, j.status FROM environment_deploy_slots s
           LEFT JOIN deployment_jobs j ON j.tenant_id = s.tenant_id AND j.id = s.job_id
          WHERE s.tenant_id = $1 AND s.environment_id = $2`,
        [tenantId, environmentId],
      )
    ).rows[0] as { job_id: string; status: string | null } | undefined;
    if (slot?.job_id === jobId) return { acquired: true, position: 0, holderJobId: jobId };
    const stale = slot && slot.status !== null && (FINISHED_JOB_STATUSES as readonly string[]).includes(slot.status);
    const holder = slot && !stale ? slot.job_id : null;

    // Queued jobs ahead of this one; a job not yet persisted stands behind all of them. The holder, still
    // 'queued' until its next write, is not in line.
    const ahead = (
      await db.query(
        `SELECT count(*) AS n FROM deployment_jobs o
          WHERE o.tenant_id = $1 AND o.environment_id = $2 AND o.status = 'queued' AND o.id <> $3 AND o.id IS DISTINCT FROM $4::uuid
            AND NOT EXISTS (SELECT 1 FROM deployment_jobs me WHERE me.tenant_id = $1 AND me.id = $3
                             AND (me.created_at, me.id) <= (o.created_at, o.id))`,
        [tenantId, environmentId, jobId, holder],
      )
    ).rows[0].n as number;

    if (holder === null && ahead === 0) {
      await db.query(
        `INSERT INTO environment_deploy_slots (tenant_id, environment_id, job_id) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, environment_id) DO UPDATE SET job_id = EXCLUDED.job_id, acquired_at = now()`,
        [tenantId, environmentId, jobId],
      );
      return { acquired: true, position: 0, holderJobId: jobId };
    }
    return { acquired: false, position: ahead + 1, holderJobId: holder };
  });
}

/** Gives the slot back if this job holds it (a second call finds nothing to do) and names the next job in line, if any. */
export async function releaseEnvironmentSlot(pool: Pool, input: SlotInput): Promise<{ nextJobId: string | null }> {
  const { tenantId, environmentId, jobId } = input;
  return withTransaction(pool, async (db) => {
    await lockEnvironment(db, tenantId, environmentId);
    await db.query('DELETE FROM environment_deploy_slots WHERE tenant_id = $1 AND environment_id = $2 AND job_id = $3', [tenantId, environmentId, jobId]);
    // A job that took the slot has not always written 'running' yet: it is not next.
    const next = await db.query(
      `SELECT id FROM deployment_jobs j WHERE tenant_id = $1 AND environment_id = $2 AND status = 'queued' AND id <> $3
          AND NOT EXISTS (SELECT 1 FROM environment_deploy_slots s WHERE s.tenant_id = $1 AND s.environment_id = $2 AND s.job_id = j.id)
        ORDER BY created_at, id LIMIT 1`,
      [tenantId, environmentId, jobId],
    );
    return { nextJobId: next.rows[0]?.id ?? null };
  });
}

import type { Pool } from 'pg';
import type { RecordError } from '../domain/incidents/bulk';

/** Where one module keeps its bulk jobs (incidents and CIs run the same loop). Table names are constants, never input. */
export interface BulkJobTables<K extends string> {
  jobs: string;
  results: string;
  /** The results' column holding the id of what a record made. */
  idColumn: K;
}

/** A bulk job with its per-record results, as its GET answers it, or undefined. */
export async function findBulkJob<K extends string>(pool: Pool, tables: BulkJobTables<K>, tenantId: string, jobId: string) {
  const { rows } = await pool.query(`SELECT id, operation, status, total, created_by, created_at, started_at, finished_at FROM ${tables.jobs} WHERE tenant_id = $1 AND id = $2`, [
    tenantId,
    jobId,
  ]);
  const job = rows[0];
  if (!job) return undefined;
  const results = (await pool.query(`SELECT index, status, ${tables.idColumn} AS made, error FROM ${tables.results} WHERE tenant_id = $1 AND job_id = $2 ORDER BY index`, [tenantId, jobId]))
    .rows;
  const iso = (v: Date | null) => (v ? new Date(v).toISOString() : null);
  return {
    id: job.id as string,
    operation: job.operation as 'create' | 'update',
    status: job.status as 'queued' | 'running' | 'completed',
    total: job.total as number,
    processed: results.length,
    succeeded: results.filter((r) => r.status === 'succeeded').length,
    failed: results.filter((r) => r.status === 'failed').length,
    results: results.map((r) => ({
      index: r.index as number,
      status: r.status as 'succeeded' | 'failed',
      ...({ [tables.idColumn]: r.made as string | null } as Record<K, string | null>),
      error: (r.error as RecordError | null) ?? null,
    })),
    created_by: job.created_by as string,
    created_at: iso(job.created_at)!,
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
  };
}

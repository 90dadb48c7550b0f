import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { CiValidationError } from '../../domain/cmdb/patch';
import { READ_ONLY_CI_FIELDS } from '../../domain/cmdb/model';
import { bulkUpdateCiSchema, createCiSchema } from '../../domain/cmdb/requests';
import { DomainError } from '../../domain/errors';
import type { RecordError } from '../../domain/incidents/bulk';
import { isLeftOut, requiredMessage, usePlainValidationMessages } from '../../domain/validation-messages';
import { withTransaction } from '../../platform/db';
import { allocateCiId, insertCi, updateCi, type CiWriter } from '../../store/cmdb';
import { permanentDbError } from '../db-failures';
import type { ActivityDeps } from '../deps';

/**
 * The CMDB bulk job's steps (workflows/cmdb/cmdb-bulk.ts). Each record is
 * applied in its own transaction with its result row, so a retried chunk skips
 * what is done and a record the rules refuse fails alone, with the error the
 * single-record call would have answered.
 */

interface Job {
  operation: 'create' | 'update';
  records: Record<string, unknown>[];
  created_by: string;
  request_id: string | null;
}

/** The second attempt at a record lost to the first; nothing to do. */
class AlreadyApplied extends Error {}

export function cmdbBulkActivities(deps: ActivityDeps) {
  async function startCiBulkJob(input: { tenantId: string; jobId: string }): Promise<void> {
    await deps.pool.query(`UPDATE cmdb_bulk_jobs SET status = 'running', started_at = now() WHERE tenant_id = $1 AND id = $2 AND status = 'queued'`, [input.tenantId, input.jobId]);
  }

  async function applyCiBulkRecords(input: { tenantId: string; jobId: string; from: number; to: number }): Promise<{ applied: number }> {
    const { tenantId, jobId } = input;
    const { rows } = await deps.pool.query<Job>('SELECT operation, records, created_by, request_id FROM cmdb_bulk_jobs WHERE tenant_id = $1 AND id = $2', [tenantId, jobId]);
    const job = rows[0];
    if (!job) throw new Error(`CMDB bulk job ${jobId} of ${tenantId} not found`);
    const { rows: done } = await deps.pool.query<{ index: number }>(
      'SELECT index FROM cmdb_bulk_results WHERE tenant_id = $1 AND job_id = $2 AND index >= $3 AND index < $4',
      [tenantId, jobId, input.from, input.to],
    );
    const skip = new Set(done.map((r) => r.index));
    const context = Context.current();
    let applied = 0;
    for (let index = input.from; index < input.to; index++) {
      context.heartbeat(index);
      if (skip.has(index)) continue;
      const writer: CiWriter = { tenantId, actor: job.created_by, requestId: job.request_id ?? undefined, now: new Date().toISOString() };
      if (await applyRecord(jobId, job, index, writer)) applied += 1;
    }
    return { applied };
  }

  /** Applies one record; false when another attempt already did. */
  async function applyRecord(jobId: string, job: Job, index: number, w: CiWriter): Promise<boolean> {
    const record = job.records[index];
    const schema = job.operation === 'create' ? createCiSchema : bulkUpdateCiSchema;
    const parsed = schema.safeParse(record);
    if (!parsed.success) return fail(w, jobId, index, null, { code: 'VALIDATION_FAILED', message: 'The record is invalid', validation_errors: issuesOf(parsed.error, record) });
    const id = job.operation === 'update' ? (parsed.data as z.infer<typeof bulkUpdateCiSchema>).id : null;
    try {
      await withTransaction(deps.pool, async (db) => {
        let ciId: string;
        if (job.operation === 'create') {
          ciId = (await insertCi(db, w, parsed.data as z.infer<typeof createCiSchema>, await allocateCiId(db, w.tenantId))).id;
        } else {
          const { id: target, ...fields } = parsed.data as z.infer<typeof bulkUpdateCiSchema>;
          ciId = (await updateCi(db, w, target, fields)).id;
        }
        const saved = await db.query(
          `INSERT INTO cmdb_bulk_results (tenant_id, job_id, index, status, ci_id) VALUES ($1, $2, $3, 'succeeded', $4) ON CONFLICT DO NOTHING`,
          [w.tenantId, jobId, index, ciId],
        );
        if (!saved.rowCount) throw new AlreadyApplied();
      });
      return true;
    } catch (err) {
      if (err instanceof AlreadyApplied) return false;
      if (err instanceof CiValidationError) return fail(w, jobId, index, id, { code: err.code, message: err.message, validation_errors: err.issues });
      if (err instanceof DomainError) return fail(w, jobId, index, id, { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
      const permanent = permanentDbError(err);
      if (permanent) return fail(w, jobId, index, id, { code: permanent.type, message: permanent.message });
      throw err;
    }
  }

  async function fail(w: CiWriter, jobId: string, index: number, ciId: string | null, error: RecordError): Promise<boolean> {
    const saved = await deps.pool.query(
      `INSERT INTO cmdb_bulk_results (tenant_id, job_id, index, status, ci_id, error) VALUES ($1, $2, $3, 'failed', $4, $5) ON CONFLICT DO NOTHING`,
      [w.tenantId, jobId, index, ciId, JSON.stringify(error)],
    );
    return (saved.rowCount ?? 0) > 0;
  }

  async function finishCiBulkJob(input: { tenantId: string; jobId: string }): Promise<{ succeeded: number; failed: number }> {
    const { rows } = await deps.pool.query<{ succeeded: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded, count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM cmdb_bulk_results WHERE tenant_id = $1 AND job_id = $2`,
      [input.tenantId, input.jobId],
    );
    await deps.pool.query(`UPDATE cmdb_bulk_jobs SET status = 'completed', finished_at = COALESCE(finished_at, now()) WHERE tenant_id = $1 AND id = $2`, [input.tenantId, input.jobId]);
    return rows[0];
  }

  return { startCiBulkJob, applyCiBulkRecords, finishCiBulkJob };
}

// Records are checked here, in the worker, and answered in the API's words.
usePlainValidationMessages();

/** Zod's findings as the API words them (read-only fields named as such, left-out ones required), one per field. */
function issuesOf(error: z.ZodError, record: unknown): RecordError['validation_errors'] {
  const readOnly = new Set<string>(READ_ONLY_CI_FIELDS);
  const all = error.issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) =>
        base.length === 0 && readOnly.has(key)
          ? { field: key, code: 'read_only', message: `"${key}" is set by the server and cannot be written` }
          : { field: [...base, key].join('.'), code: 'unknown_field', message: `"${key}" is not a recognised field` },
      );
    }
    if (issue.code !== 'custom' && isLeftOut(record, issue.path)) return [{ field: base.join('.'), code: 'required', message: requiredMessage(issue.message) }];
    const custom = issue.code === 'custom' ? (issue.params as { code?: string } | undefined)?.code : undefined;
    return [{ field: base.join('.') || 'record', code: custom ?? issue.code, message: issue.message }];
  });
  return all.filter((entry, i) => all.findIndex((e) => e.field === entry.field) === i);
}

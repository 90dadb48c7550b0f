import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { DomainError } from '../../domain/errors';
import type { RecordError } from '../../domain/incidents/bulk';
import { incidentNumberToId, READ_ONLY_INCIDENT_FIELDS } from '../../domain/incidents/model';
import { bulkUpdateRecordSchema, createIncidentSchema } from '../../domain/incidents/requests';
import { incidentSettings } from '../../domain/incidents/settings';
import { isLeftOut, requiredMessage, usePlainValidationMessages } from '../../domain/validation-messages';
import { withTransaction } from '../../platform/db';
import { permanentDbError } from '../db-failures';
import type { ActivityDeps } from '../deps';
import { afterIncidentWrite } from '../../dispatch/incident-followups';
import { allocateIncidentNumber, insertIncident, updateIncident, type IncidentWrite, type Writer } from '../../store/incidents';
import { suggestionForNewIncident, withSuggestedResolution } from '../../store/retrieval';
import { embedAfterWrite } from '../../store/retrieval-embeddings';
import { aiSettings } from '../../domain/ai/settings';

/**
 * The bulk job's steps. Each record is applied in its own transaction, with
 * its result row written in that same transaction: a retried chunk skips what
 * is done, and a second attempt racing the first loses on the result's key and
 * rolls back. A record the rules refuse fails alone, with the error the API
 * would have answered.
 */

interface Job {
  operation: 'create' | 'update';
  records: Record<string, unknown>[];
  created_by: string;
  created_by_id: string;
  request_id: string | null;
}

/** The second attempt at a record lost to the first; nothing to do. */
class AlreadyApplied extends Error {}

export function bulkActivities(deps: ActivityDeps) {
  const { matrix, policy } = incidentSettings(deps.config);
  const { minConfidence, embeddings } = aiSettings(deps.config);

  async function startBulkJob(input: { tenantId: string; jobId: string }): Promise<void> {
    await deps.pool.query(`UPDATE incident_bulk_jobs SET status = 'running', started_at = now() WHERE tenant_id = $1 AND id = $2 AND status = 'queued'`, [
      input.tenantId,
      input.jobId,
    ]);
  }

  async function applyBulkRecords(input: { tenantId: string; jobId: string; from: number; to: number }): Promise<{ applied: number }> {
    const { tenantId, jobId } = input;
    const { rows } = await deps.pool.query<Job>('SELECT operation, records, created_by, created_by_id, request_id FROM incident_bulk_jobs WHERE tenant_id = $1 AND id = $2', [tenantId, jobId]);
    const job = rows[0];
    if (!job) throw new Error(`bulk job ${jobId} of ${tenantId} not found`);
    const done = new Set(
      (await deps.pool.query<{ index: number }>('SELECT index FROM incident_bulk_results WHERE tenant_id = $1 AND job_id = $2 AND index >= $3 AND index < $4', [tenantId, jobId, input.from, input.to])).rows.map(
        (r) => r.index,
      ),
    );
    const context = Context.current();
    let applied = 0;
    for (let index = input.from; index < input.to; index++) {
      context.heartbeat(index);
      if (done.has(index)) continue;
      const writer: Writer = { tenantId, actor: { userId: job.created_by_id, email: job.created_by }, requestId: job.request_id ?? undefined, now: new Date().toISOString(), matrix, policy };
      const outcome = await applyRecord(jobId, job, index, writer);
      if (!outcome) continue;
      applied += 1;
      if ('error' in outcome) continue;
      if (outcome.write.incident.resolution_notes) embedAfterWrite(deps.pool, deps.log, embeddings, tenantId, 'incident', outcome.write.incident.id);
      const notify = job.records[index].notify_stakeholders === true;
      await afterIncidentWrite(
        { client: context.client, pool: deps.pool, log: deps.log, taskQueue: context.info.taskQueue, policy },
        {
          tenantId,
          incident: outcome.write.incident,
          clockMoved: outcome.write.decision.clockMoved,
          notify: notify ? (job.operation === 'create' ? 'created' : 'updated') : undefined,
          requestedBy: job.created_by,
        },
      );
    }
    return { applied };
  }

  /** Applies one record; undefined when another attempt already did. */
  async function applyRecord(jobId: string, job: Job, index: number, w: Writer): Promise<{ write: IncidentWrite } | { error: RecordError } | undefined> {
    const record = job.records[index];
    const schema = job.operation === 'create' ? createIncidentSchema : bulkUpdateRecordSchema;
    const parsed = schema.safeParse(record);
    if (!parsed.success) return fail(w, jobId, index, null, { code: 'VALIDATION_FAILED', message: 'The record is invalid', validation_errors: issuesOf(parsed.error, record) });
    const id = job.operation === 'update' ? (parsed.data as z.infer<typeof bulkUpdateRecordSchema>).id : null;
    // A bulk-created incident is offered a resolution as one created through the API is.
    const suggestion =
      job.operation === 'create' ? await suggestionForNewIncident(deps.pool, deps.log, w.tenantId, parsed.data as z.infer<typeof createIncidentSchema>, minConfidence) : null;
    try {
      const write = await withTransaction(deps.pool, async (db) => {
        let result: IncidentWrite;
        if (job.operation === 'create') {
          const number = await allocateIncidentNumber(db, w.tenantId);
          result = await insertIncident(db, w, parsed.data as z.infer<typeof createIncidentSchema>, incidentNumberToId(number));
          if (suggestion && result.applied) result = { ...result, incident: await withSuggestedResolution(db, w.tenantId, result.incident, suggestion) };
        } else {
          const { id: target, ...fields } = parsed.data as z.infer<typeof bulkUpdateRecordSchema>;
          result = await updateIncident(db, w, target, fields);
        }
        const saved = await db.query(
          `INSERT INTO incident_bulk_results (tenant_id, job_id, index, status, incident_id) VALUES ($1, $2, $3, 'succeeded', $4) ON CONFLICT DO NOTHING`,
          [w.tenantId, jobId, index, result.incident.id],
        );
        if (!saved.rowCount) throw new AlreadyApplied();
        return result;
      });
      return { write };
    } catch (err) {
      if (err instanceof AlreadyApplied) return undefined;
      if (err instanceof DomainError) return fail(w, jobId, index, id, { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) });
      const permanent = permanentDbError(err);
      if (permanent) return fail(w, jobId, index, id, { code: permanent.type, message: permanent.message });
      throw err;
    }
  }

  async function fail(w: Writer, jobId: string, index: number, incidentId: string | null, error: RecordError): Promise<{ error: RecordError } | undefined> {
    const saved = await deps.pool.query(
      `INSERT INTO incident_bulk_results (tenant_id, job_id, index, status, incident_id, error) VALUES ($1, $2, $3, 'failed', $4, $5) ON CONFLICT DO NOTHING`,
      [w.tenantId, jobId, index, incidentId, JSON.stringify(error)],
    );
    return saved.rowCount ? { error } : undefined;
  }

  async function finishBulkJob(input: { tenantId: string; jobId: string }): Promise<{ succeeded: number; failed: number }> {
    const { rows } = await deps.pool.query<{ succeeded: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded, count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM incident_bulk_results WHERE tenant_id = $1 AND job_id = $2`,
      [input.tenantId, input.jobId],
    );
    await deps.pool.query(`UPDATE incident_bulk_jobs SET status = 'completed', finished_at = COALESCE(finished_at, now()) WHERE tenant_id = $1 AND id = $2`, [
      input.tenantId,
      input.jobId,
    ]);
    return rows[0];
  }

  return { startBulkJob, applyBulkRecords, finishBulkJob };
}

// Records are checked here, in the worker, and answered in the API's words.
usePlainValidationMessages();

/** Zod's findings as the API words them (read-only fields named as such, left-out ones required), one per field. */
function issuesOf(error: z.ZodError, record: unknown): RecordError['validation_errors'] {
  const readOnly = new Set<string>(READ_ONLY_INCIDENT_FIELDS);
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
    return [{ field: base.join('.') || 'record', code: issue.code, message: issue.message }];
  });
  return all.filter((entry, i) => all.findIndex((e) => e.field === entry.field) === i);
}

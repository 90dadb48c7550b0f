import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Context } from 'hono';
import { afterIncidentWrite, stopSlaClock, type FollowupSettings } from '../../../dispatch/incident-followups';
import {
  addNote,
  allocateIncidentNumber,
  findIncident,
  insertIncident,
  softDeleteIncident,
  updateIncident,
  type Writer,
} from '../../../store/incidents';
import type { Incident, IncidentNote } from '../../../domain/incidents/model';
import { incidentNumberToId } from '../../../domain/incidents/model';
import type { BulkRequest, CreateIncidentInput, CreateNoteInput, PatchIncidentInput } from '../../../domain/incidents/requests';
import { incidentSettings } from '../../../domain/incidents/settings';
import { withTransaction, type PoolClient } from '../../../platform/db';
import { aiSettings } from '../../../domain/ai/settings';
import { suggestionForNewIncident, withSuggestedResolution } from '../../../store/retrieval';
import { embedAfterWrite } from '../../../store/retrieval-embeddings';
import { BULK_WORKFLOW_TYPE, bulkSearchAttributesOf, bulkWorkflowId, type IncidentBulkInput } from '../../../workflows/incidents/messages';
import type { AppEnv } from '../../context';
import { Conflict, NotFound } from '../../errors';
import { useIdempotencyKey } from '../../idempotency';
import { principalOf } from '../../principal';

/**
 * The API's incident writes: each runs the shared store (store/incidents.ts)
 * in one transaction, then tells Temporal what followed (SLA clock, notifications,
 * bulk job). An Idempotency-Key makes a retried request land once: its first
 * answer is kept with the key, in the same transaction as the write
 * (`answerIn`/`rememberIn` of api/idempotency.ts).
 */

type C = Context<AppEnv>;

const SCOPE = 'incident';
/** How long a write's follow-up calls to Temporal may take before the API answers anyway. */
const FOLLOWUP_DEADLINE_MS = 5_000;

function writerOf(c: C): Writer {
  const p = principalOf(c);
  return {
    tenantId: p.tenantId,
    actor: { userId: p.userId, email: p.email },
    requestId: c.get('requestId'),
    now: new Date().toISOString(),
    ...incidentSettings(c.get('deps').config),
  };
}

/** Runs Temporal follow-ups with a deadline; the write has landed whatever happens here. */
async function withTemporal(c: C, fn: (s: FollowupSettings) => Promise<void>): Promise<void> {
  const { temporal, pool, config } = c.get('deps');
  const log = c.get('log');
  const client = await temporal.client().catch((err) => {
    log.error({ err }, 'Temporal is unreachable: incident follow-ups (SLA clock, notifications) are delayed to the next change');
    return undefined;
  });
  if (!client) return;
  const settings: FollowupSettings = { client, pool, log, taskQueue: config.TEMPORAL_TASK_QUEUE, policy: incidentSettings(config).policy };
  await client.withDeadline(Date.now() + FOLLOWUP_DEADLINE_MS, () => fn(settings)).catch((err) => log.error({ err }, 'incident follow-up failed'));
}

/** A replayed answer about an incident deleted since is no answer: 404, as the request would now get. */
async function stillThere<T extends { id: string }>(db: PoolClient, tenantId: string, answer: T): Promise<T> {
  if (!(await findIncident(db, tenantId, answer.id))) throw new NotFound(`Incident ${answer.id} not found`);
  return answer;
}

export async function createIncidentRequest(c: C, body: CreateIncidentInput): Promise<Incident> {
  const { pool } = c.get('deps');
  const { tenantId } = principalOf(c);
  const allocate = async () => incidentNumberToId(await allocateIncidentNumber(pool, tenantId));
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'create', body }, allocate);
  const id = key?.resource ?? (await allocate());
  const w = writerOf(c);
  const suggestion = await suggestionForNewIncident(pool, c.get('log'), tenantId, body, aiSettings(c.get('deps').config).minConfidence);
  // A retried create is answered as the first one was, even if the incident has moved on (or been deleted) since.
  const result = await withTransaction(pool, async (db) => {
    const prior = await key?.answerIn<Incident>(db);
    if (prior) {
      // The first answer stands, unless what it answered with is gone.
      if (!(await findIncident(db, tenantId, prior.id))) {
        throw new Conflict(`The incident this Idempotency-Key created (${prior.id}) has since been deleted`, 'INCIDENT_DELETED', { id: prior.id });
      }
      return { prior };
    }
    const write = await insertIncident(db, w, body, id);
    if (suggestion) write.incident = await withSuggestedResolution(db, tenantId, write.incident, suggestion);
    await key?.rememberIn(db, write.incident);
    return { write };
  });
  if (result.prior) return result.prior;
  const { write } = result;
  if (write.applied) {
    await withTemporal(c, (s) =>
      afterIncidentWrite(s, { tenantId, incident: write.incident, clockMoved: true, notify: body.notify_stakeholders ? 'created' : undefined, requestedBy: w.actor.email ?? w.actor.userId }),
    );
  }
  return write.incident;
}

export async function patchIncidentRequest(c: C, id: string, body: PatchIncidentInput): Promise<Incident> {
  const { pool } = c.get('deps');
  const { tenantId } = principalOf(c);
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'patch', resource: id, body });
  const w = writerOf(c);
  const result = await withTransaction(pool, async (db) => {
    const prior = await key?.answerIn<Incident>(db);
    if (prior) return { prior: await stillThere(db, tenantId, prior) };
    const write = await updateIncident(db, w, id, body);
    await key?.rememberIn(db, write.incident);
    return { write };
  });
  if (result.prior) return result.prior;
  const { write } = result;
  if (write.applied) {
    // A resolution is kept as a vector too (with an embedding model), for the AI query to find by meaning.
    if (write.incident.resolution_notes) embedAfterWrite(pool, c.get('log'), aiSettings(c.get('deps').config).embeddings, tenantId, 'incident', id);
    const notify = body.notify_stakeholders ? ('updated' as const) : undefined;
    await withTemporal(c, (s) =>
      afterIncidentWrite(s, { tenantId, incident: write.incident, clockMoved: write.decision.clockMoved, notify, requestedBy: w.actor.email ?? w.actor.userId }),
    );
  }
  return write.incident;
}

export async function addNoteRequest(c: C, id: string, body: CreateNoteInput): Promise<IncidentNote> {
  const { pool } = c.get('deps');
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'note', resource: id, body });
  const w = writerOf(c);
  return withTransaction(pool, async (db) => {
    const prior = await key?.answerIn<IncidentNote>(db);
    if (prior) {
      await stillThere(db, w.tenantId, { id });
      return prior;
    }
    const { note } = await addNote(db, w, id, body);
    await key?.rememberIn(db, note);
    return note;
  });
}

export async function deleteIncidentRequest(c: C, id: string): Promise<void> {
  const { pool } = c.get('deps');
  const { tenantId } = principalOf(c);
  const w = writerOf(c);
  const incident = await withTransaction(pool, (db) => softDeleteIncident(db, w, id));
  await withTemporal(c, (s) => stopSlaClock(s, tenantId, incident));
}

interface AcceptedBulkJob {
  id: string;
  /** The job's workflow still has to be started (a fresh job, or a keyed retry of one that never started). */
  start: boolean;
}

/**
 * Records the job (its records expanded: ids × fields become one record per
 * incident) and starts its workflow. A keyed retry answers with the first
 * request's job and starts it only if it never started; a job whose workflow
 * could not be started (Temporal down: 503) stays queued until such a retry.
 */
export async function acceptBulkRequest(c: C, body: BulkRequest): Promise<string> {
  const { pool, temporal, config } = c.get('deps');
  const p = principalOf(c);
  const newJobId = async () => `bulk_${randomBytes(10).toString('hex')}`;
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'bulk', body }, newJobId);
  const jobId = key?.resource ?? (await newJobId());
  const records = body.records ?? (body.ids ?? []).map((id) => ({ id, ...body.fields }));
  const accepted = await withTransaction(pool, async (db): Promise<AcceptedBulkJob> => {
    const prior = await key?.answerIn<{ id: string }>(db);
    if (prior) {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM incident_bulk_jobs WHERE tenant_id = $1 AND id = $2', [p.tenantId, prior.id]);
      return { id: prior.id, start: rows[0]?.status === 'queued' };
    }
    await db.query(
      `INSERT INTO incident_bulk_jobs (tenant_id, id, operation, status, total, records, created_by, created_by_id, request_id, created_at)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, now())`,
      [p.tenantId, jobId, body.operation, records.length, JSON.stringify(records), p.email ?? p.userId, p.userId, c.get('requestId')],
    );
    await key?.rememberIn(db, { id: jobId });
    return { id: jobId, start: true };
  });
  if (accepted.start) {
    const client = await temporal.client();
    const input: IncidentBulkInput = { tenantId: p.tenantId, jobId: accepted.id, total: records.length };
    await client.workflow
      .start(BULK_WORKFLOW_TYPE, {
        workflowId: bulkWorkflowId(p.tenantId, accepted.id),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        // A retried request must reach the job its first attempt started, never start a second.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: bulkSearchAttributesOf(p.tenantId, accepted.id),
        staticSummary: `Bulk ${body.operation} of ${records.length} incident${records.length === 1 ? '' : 's'} by ${p.email ?? p.userId}`,
      })
      .catch((err) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
        throw err;
      });
  }
  return accepted.id;
}

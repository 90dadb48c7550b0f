import { randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Context } from 'hono';
import type { ConfigurationItem, Relationship } from '../../../domain/cmdb/model';
import { CiValidationError } from '../../../domain/cmdb/patch';
import type { BulkCiRequest, CreateCiInput, CreateRelationshipInput, PatchCiInput } from '../../../domain/cmdb/requests';
import { withTransaction, type PoolClient } from '../../../platform/db';
import { allocateCiId, deleteCi, deleteRelationship, findCi, insertCi, insertRelationship, updateCi, type CiWriter } from '../../../store/cmdb';
import { CMDB_BULK_WORKFLOW_TYPE, cmdbBulkSearchAttributesOf, cmdbBulkWorkflowId, type CmdbBulkInput } from '../../../workflows/cmdb/messages';
import type { AppEnv } from '../../context';
import { NotFound, ValidationFailed } from '../../errors';
import { useIdempotencyKey } from '../../idempotency';
import { principalOf } from '../../principal';

/**
 * The API's CMDB writes, each one transaction through the shared store
 * (store/cmdb.ts) with its audit row. A keyed create or bulk request lands
 * once: its first answer is kept with the key in the same transaction.
 */

type C = Context<AppEnv>;

const SCOPE = 'ci';

function writerOf(c: C): CiWriter {
  const p = principalOf(c);
  return { tenantId: p.tenantId, actor: p.email ?? p.userId, requestId: c.get('requestId'), now: new Date().toISOString() };
}

/** Runs a write; a result that breaks its class's attributes is a 400 naming each field. */
async function write<T>(c: C, fn: (db: PoolClient) => Promise<T>): Promise<T> {
  try {
    return await withTransaction(c.get('deps').pool, fn);
  } catch (err) {
    if (err instanceof CiValidationError) throw new ValidationFailed(err.issues, err.message);
    throw err;
  }
}

export async function createCiRequest(c: C, body: CreateCiInput): Promise<ConfigurationItem> {
  const { pool } = c.get('deps');
  const { tenantId } = principalOf(c);
  const allocate = () => allocateCiId(pool, tenantId);
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'create', body }, allocate);
  const id = key?.resource ?? (await allocate());
  return write(c, async (db) => {
    const prior = await key?.answerIn<ConfigurationItem>(db);
    if (prior) {
      // The first answer stands, unless the CI it answered with is gone.
      const current = await findCi(db, tenantId, prior.id);
      if (!current) throw new NotFound(`Configuration item ${prior.id} not found`);
      return prior;
    }
    const ci = await insertCi(db, writerOf(c), body, id);
    await key?.rememberIn(db, ci);
    return ci;
  });
}

export async function patchCiRequest(c: C, id: string, body: PatchCiInput): Promise<ConfigurationItem> {
  return write(c, (db) => updateCi(db, writerOf(c), id, body));
}

export async function deleteCiRequest(c: C, id: string): Promise<void> {
  await write(c, (db) => deleteCi(db, writerOf(c), id));
}

export async function createRelationshipRequest(c: C, sourceId: string, body: CreateRelationshipInput): Promise<Relationship> {
  return write(c, (db) => insertRelationship(db, writerOf(c), sourceId, body));
}

export async function deleteRelationshipRequest(c: C, ciId: string, relationshipId: string): Promise<void> {
  const deleted = await write(c, (db) => deleteRelationship(db, writerOf(c), ciId, relationshipId));
  if (!deleted) throw new NotFound(`Relationship ${relationshipId} not found on ${ciId}`);
}

/**
 * Records the job and starts its workflow. A keyed retry answers with the
 * first request's job and starts it only if it never started (Temporal was
 * down: 503, the job stays queued until such a retry).
 */
export async function acceptCiBulkRequest(c: C, body: BulkCiRequest): Promise<string> {
  const { pool, temporal, config } = c.get('deps');
  const p = principalOf(c);
  const newJobId = async () => `cibulk_${randomBytes(10).toString('hex')}`;
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'bulk', body }, newJobId);
  const jobId = key?.resource ?? (await newJobId());
  const accepted = await withTransaction(pool, async (db) => {
    const prior = await key?.answerIn<{ id: string }>(db);
    if (prior) {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM cmdb_bulk_jobs WHERE tenant_id = $1 AND id = $2', [p.tenantId, prior.id]);
      return { id: prior.id, start: rows[0]?.status === 'queued' };
    }
    await db.query(
      `INSERT INTO cmdb_bulk_jobs (tenant_id, id, operation, status, total, records, created_by, created_by_id, request_id, created_at)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, now())`,
      [p.tenantId, jobId, body.operation, body.records.length, JSON.stringify(body.records), p.email ?? p.userId, p.userId, c.get('requestId')],
    );
    await key?.rememberIn(db, { id: jobId });
    return { id: jobId, start: true };
  });
  if (accepted.start) {
    const client = await temporal.client();
    const input: CmdbBulkInput = { tenantId: p.tenantId, jobId: accepted.id, total: body.records.length };
    await client.workflow
      .start(CMDB_BULK_WORKFLOW_TYPE, {
        workflowId: cmdbBulkWorkflowId(p.tenantId, accepted.id),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        // A retried request must reach the job its first attempt started, never start a second.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: cmdbBulkSearchAttributesOf(p.tenantId, accepted.id),
        staticSummary: `Bulk ${body.operation} of ${body.records.length} CI${body.records.length === 1 ? '' : 's'} by ${p.email ?? p.userId}`,
      })
      .catch((err) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
        throw err;
      });
  }
  return accepted.id;
}

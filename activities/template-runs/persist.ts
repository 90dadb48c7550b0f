import type { Actor } from '../../domain/actor';
import type { EntityEvent } from '../../domain/draft';
import type { WorkflowRun } from '../../domain/templates/model';
import { recordEntityEvents } from '../../platform/audit';
import type { Pool, PoolClient } from '../../platform/db';
import { withTransaction } from '../../platform/db';
import { notifyWorkflowRun } from '../../store/workflow-run-events';
import { storableCopy } from '../../domain/text';


/** One command's audit events: who sent it, and what it moved. */
export interface RunEventBatch {
  actor: Pick<Actor, 'userId' | 'email'>;
  requestId?: string;
  events: EntityEvent[];
}

export interface PersistRunInput {
  tenantId: string;
  run: WorkflowRun;
  /** Every command since the last persisted version, in order. */
  batches: RunEventBatch[];
}

/**
 * Writes the run's read-model row (its body is the run as the API serves it)
 * and the audit rows of the commands since the last write, in one transaction.
 * `WHERE version < new` keeps a late or retried write from rolling the row
 * back; the audit rows' dedupe keys carry the version, so a retry writes them once.
 */
export async function persistRun(pool: Pool, input: PersistRunInput): Promise<{ written: boolean }> {
  // Steps' outputs and failures carry what remote services answered: NUL or a lone surrogate becomes U+FFFD
  // here, where the run is stored, or Postgres would refuse the row and the run could never be written again.
  const { tenantId, run, batches } = storableCopy(input);
  return withTransaction(pool, async (db) => {
    const row = await db.query(
      `INSERT INTO workflow_runs (tenant_id, id, version, template_id, template_version, template_name, status, requested_by, created_at, updated_at, ended_at, body)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
       ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
         ended_at = EXCLUDED.ended_at, body = EXCLUDED.body
       WHERE workflow_runs.version < EXCLUDED.version`,
      [tenantId, run.id, run.version, run.templateId, run.templateVersion, run.templateName, run.status, run.requestedBy, run.createdAt, run.updatedAt, run.endedAt, JSON.stringify(run)],
    );
    for (const [i, batch] of batches.entries()) {
      await recordEntityEvents(db, {
        tenantId,
        resourceType: 'workflow-run',
        resourceId: run.id,
        versionTag: `v${run.version}.${i}`,
        events: batch.events,
        actor: batch.actor,
        requestId: batch.requestId,
        occurredAt: run.updatedAt,
      });
    }
    const written = (row.rowCount ?? 0) > 0;
    if (written) await notifyWorkflowRun(db, { tenantId, runId: run.id, kind: 'run' });
    return { written };
  });
}

export interface RunLogPlace {
  tenantId: string;
  runId: string;
  nodeId: string;
  /** forEach: the item's index; -1 otherwise. */
  itemIndex?: number;
}

/**
 * Appends a step's log lines after the ones already there (one writer per node
 * and item at a time: its step), then tells the run's stream.
 */
export async function appendRunLog(pool: Pool, place: RunLogPlace, lines: ReadonlyArray<{ line: string; stream?: 'stdout' | 'stderr' }>): Promise<void> {
  if (lines.length === 0) return;
  const itemIndex = place.itemIndex ?? -1;
  await withTransaction(pool, async (db) => {
    await db.query(
      `INSERT INTO workflow_run_logs (tenant_id, run_id, node_id, item_index, seq, stream, line)
       SELECT $1, $2, $3, $4,
              COALESCE((SELECT max(seq) FROM workflow_run_logs WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND item_index = $4), 0) + l.ord,
              l.stream, l.line
         FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS l(stream, line, ord)`,
      [place.tenantId, place.runId, place.nodeId, itemIndex, lines.map((l) => l.stream ?? 'stdout'), lines.map((l) => l.line)],
    );
    await notifyWorkflowRun(db, { tenantId: place.tenantId, runId: place.runId, kind: 'log', nodeId: place.nodeId });
  });
}

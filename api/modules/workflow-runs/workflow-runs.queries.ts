import type { WorkflowRun } from '../../../domain/templates/model';
import type { Pool } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { listPage, type ListSpec } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';

/** Reads of the workflow-run read model, its logs and artifacts; every query is scoped by tenant. */

type Queryable = Pick<Pool, 'query'>;

export const RUN_SORT_COLUMNS = { created_at: { column: 'created_at', cast: 'timestamptz' } } as const satisfies ListSpec['sortColumns'];

export async function findRun(db: Queryable, tenantId: string, id: string): Promise<WorkflowRun | undefined> {
  const { rows } = await db.query<{ body: WorkflowRun }>('SELECT body FROM workflow_runs WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

export interface RunFilters {
  templateId?: string;
  status?: string;
  createdAfter?: string;
  createdBefore?: string;
}

/** The list's query: the template and status filters each have their index with created_at, which also bounds the date range (018_workflow_templates.sql). */
export function runListSpec(tenantId: string, filters: RunFilters): ListSpec {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.templateId) add((n) => `template_id = $${n}`, filters.templateId);
  if (filters.status) add((n) => `status = $${n}`, filters.status);
  if (filters.createdAfter) add((n) => `created_at >= $${n}::timestamptz`, filters.createdAfter);
  if (filters.createdBefore) add((n) => `created_at < $${n}::timestamptz`, filters.createdBefore);
  return { from: 'workflow_runs', select: 'body', where, params, sortColumns: RUN_SORT_COLUMNS, idColumn: 'id::text' };
}

export async function listRuns(pool: Pool, tenantId: string, filters: RunFilters, request: PageRequest): Promise<Page<WorkflowRun>> {
  return listPage<{ body: WorkflowRun }, WorkflowRun>(pool, runListSpec(tenantId, filters), request, (r) => r.body);
}

export interface RunLogLine {
  seq: number;
  itemIndex: number | null;
  stream: string;
  line: string;
  at: string;
}

/** A node's log lines after `afterSeq`, in order; forEach items each have their own sequence, so one item at a time (-1: the node's own lines). */
export async function readRunLog(db: Queryable, tenantId: string, runId: string, nodeId: string, itemIndex: number, afterSeq: number, limit: number) {
  const { rows } = await db.query<{ seq: string; item_index: number; stream: string; line: string; created_at: Date }>(
    `SELECT seq, item_index, stream, line, created_at FROM workflow_run_logs
      WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND item_index = $4 AND seq > $5 ORDER BY seq LIMIT $6`,
    [tenantId, runId, nodeId, itemIndex, afterSeq, limit + 1],
  );
  const lines: RunLogLine[] = rows.slice(0, limit).map((r) => ({
    seq: Number(r.seq),
    itemIndex: r.item_index < 0 ? null : r.item_index,
    stream: r.stream,
    line: r.line,
    at: iso(r.created_at)!,
  }));
  return { lines, more: rows.length > limit };
}

/** The newest sequence number of each of the run's node logs (per forEach item), for a stream that starts from now. */
export async function logHeads(db: Queryable, tenantId: string, runId: string): Promise<Array<{ nodeId: string; itemIndex: number; seq: number }>> {
  const { rows } = await db.query<{ node_id: string; item_index: number; seq: string }>(
    'SELECT node_id, item_index, max(seq) AS seq FROM workflow_run_logs WHERE tenant_id = $1 AND run_id = $2 GROUP BY node_id, item_index',
    [tenantId, runId],
  );
  return rows.map((r) => ({ nodeId: r.node_id, itemIndex: r.item_index, seq: Number(r.seq) }));
}

/** Lines of the run's node written after the given heads (all items), oldest first per item. */
export async function logLinesAfter(db: Queryable, tenantId: string, runId: string, nodeId: string, heads: ReadonlyMap<number, number>, limit: number) {
  const items = [...heads.keys()];
  const { rows } = await db.query<{ seq: string; item_index: number; stream: string; line: string; created_at: Date }>(
    `SELECT l.seq, l.item_index, l.stream, l.line, l.created_at FROM workflow_run_logs l
       LEFT JOIN unnest($4::int[], $5::bigint[]) AS h(item_index, seq) ON h.item_index = l.item_index
      WHERE l.tenant_id = $1 AND l.run_id = $2 AND l.node_id = $3 AND l.seq > COALESCE(h.seq, -1)
      ORDER BY l.item_index, l.seq LIMIT $6`,
    [tenantId, runId, nodeId, items, items.map((i) => heads.get(i)!), limit],
  );
  return rows.map((r) => ({ seq: Number(r.seq), itemIndex: r.item_index, stream: r.stream, line: r.line, at: iso(r.created_at)! }));
}

export interface RunArtifactRow {
  id: string;
  nodeId: string;
  itemIndex: number | null;
  name: string;
  size: number;
  sha256: string;
  createdAt: string;
}

export async function listRunArtifacts(db: Queryable, tenantId: string, runId: string, nodeId: string): Promise<RunArtifactRow[]> {
  const { rows } = await db.query<{ id: string; node_id: string; item_index: number; name: string; size: number; sha256: string; created_at: Date }>(
    `SELECT id, node_id, item_index, name, size, sha256, created_at FROM workflow_run_artifacts
      WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 ORDER BY created_at, id`,
    [tenantId, runId, nodeId],
  );
  return rows.map((r) => ({ id: r.id, nodeId: r.node_id, itemIndex: r.item_index < 0 ? null : r.item_index, name: r.name, size: r.size, sha256: r.sha256, createdAt: iso(r.created_at)! }));
}

export async function readRunArtifact(db: Queryable, tenantId: string, runId: string, nodeId: string, id: string) {
  const { rows } = await db.query<{ name: string; sha256: string; content: Buffer }>(
    'SELECT name, sha256, content FROM workflow_run_artifacts WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND id = $4',
    [tenantId, runId, nodeId, id],
  );
  return rows[0];
}

import type { Pool } from '../../../platform/db';
import { changeResource, type ChangeResource } from '../../../domain/changes/cab';
import type { Change, ChangeConflict, RiskAssessment } from '../../../domain/changes/model';
import { listPage, type ListSpec } from '../../list-query';
import { RawJson } from '../../respond';
import type { Page, PageRequest } from '../../pagination';
import type { z } from '@hono/zod-openapi';
import type { CHANGE_SORTS, ChangeListQuery } from './changes.routes';

/** Reads of the changes read model; every query is scoped by tenant. */

export const CHANGE_SORT_COLUMNS = {
  created_at: { column: 'created_at', cast: 'timestamptz' },
  updated_at: { column: 'updated_at', cast: 'timestamptz' },
  risk_score: { column: 'risk_score', cast: 'int' },
  id: { column: 'id', cast: 'text' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof CHANGE_SORTS)[number], unknown>;

export async function findChange(pool: Pool, tenantId: string, id: string): Promise<Change | undefined> {
  const { rows } = await pool.query<{ body: Change }>('SELECT body FROM changes WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

// The key as JSON.stringify writes it: inside a string value its quotes would be escaped, so only the key matches.
const AWAITING_KEY = '"awaiting":';

/**
 * Records as their stored JSON text: served as they are, never parsed (api/respond.ts RawJson). A row last written
 * before the resource carried `awaiting` gets it here, by the same rule the writes use.
 */
export async function listChanges(pool: Pool, tenantId: string, filters: z.infer<typeof ChangeListQuery>, request: PageRequest): Promise<Page<RawJson<ChangeResource>>> {
  return listPage<{ body: string }, RawJson<ChangeResource>>(pool, changeListSpec(tenantId, filters), request, (row) =>
    new RawJson<ChangeResource>(row.body.includes(AWAITING_KEY) ? row.body : JSON.stringify(changeResource(JSON.parse(row.body) as Change))),
  );
}

export function changeListSpec(tenantId: string, filters: z.infer<typeof ChangeListQuery>): ListSpec {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.state) add((n) => `state = ANY($${n}::text[])`, filters.state);
  if (filters.type) add((n) => `type = ANY($${n}::text[])`, filters.type);
  if (filters.risk) add((n) => `risk = ANY($${n}::text[])`, filters.risk);
  if (filters.risk_level) add((n) => `risk_level = ANY($${n}::text[])`, filters.risk_level);
  if (filters.assignment_group) add((n) => `assignment_group = $${n}`, filters.assignment_group);
  if (filters.assigned_to) add((n) => `assigned_to = $${n}`, filters.assigned_to);
  if (filters.ci_id) add((n) => `ci_id = $${n}`, filters.ci_id);
  if (filters.created_after) add((n) => `created_at > $${n}::timestamptz`, filters.created_after);
  if (filters.created_before) add((n) => `created_at < $${n}::timestamptz`, filters.created_before);
  if (filters.q) add((n) => `search @@ websearch_to_tsquery('english', $${n})`, filters.q);
  return { from: 'changes', select: 'body::text AS body', where, params, sortColumns: CHANGE_SORT_COLUMNS, idColumn: 'id', generation: { tenantId, resourceType: 'change' } };
}

/** A change_risk_assessments row: one assessment per version of the change. */
type RiskAssessmentRow = Omit<RiskAssessment, 'assessed_at'> & { change_version: number; conflicts: ChangeConflict[]; assessed_at: Date };

/** An audit_log row of a change, as its trail shows it. */
type AuditRow = { action: string; actor: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; request_id: string | null; occurred_at: Date };

export async function riskHistory(pool: Pool, tenantId: string, id: string) {
  const { rows } = await pool.query<RiskAssessmentRow>(
    `SELECT change_version, model_version, risk_score, risk_level, factors, recommendation, conflicts, assessed_at
       FROM change_risk_assessments WHERE tenant_id = $1 AND change_id = $2 ORDER BY change_version`,
    [tenantId, id],
  );
  return rows.map((r) => ({ ...r, assessed_at: new Date(r.assessed_at).toISOString() }));
}

export async function changeHistory(pool: Pool, tenantId: string, id: string) {
  const { rows } = await pool.query<AuditRow>(
    `SELECT action, actor, before, after, request_id, occurred_at FROM audit_log
      WHERE tenant_id = $1 AND resource_type = 'change' AND resource_id = $2 ORDER BY occurred_at, id`,
    [tenantId, id],
  );
  return rows.map((r) => ({ ...r, occurred_at: new Date(r.occurred_at).toISOString() }));
}


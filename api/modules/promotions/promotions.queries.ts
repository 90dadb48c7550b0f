import type { Actor } from '../../../domain/actor';
import { mayApproveNow } from '../../../domain/promotions/approvals';
import type { CelGate } from '../../../domain/promotions/cel-gates';
import type { HttpGate } from '../../../domain/promotions/gates-http';
import type { Promotion } from '../../../domain/promotions/model';
import { UNDECIDED } from '../../../domain/promotions/state-machine';
import type { Pool } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { listPage, type ListSpec } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';

/** Reads of the promotions read model and of approval policies; every query is scoped by tenant. */

export const PROMOTION_SORT_COLUMNS = {
  requested_at: { column: 'requested_at', cast: 'timestamptz' },
  updated_at: { column: 'updated_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'];

export async function findPromotion(pool: Pool, tenantId: string, id: string): Promise<Promotion | undefined> {
  const { rows } = await pool.query<{ body: Promotion }>('SELECT body FROM promotions WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

export async function listPromotions(
  pool: Pool,
  tenantId: string,
  filters: { status?: string; releaseId?: string; environmentId?: string },
  request: PageRequest,
): Promise<Page<Promotion>> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.status) add((n) => `status = $${n}`, filters.status);
  if (filters.releaseId) add((n) => `release_id = $${n}`, filters.releaseId);
  if (filters.environmentId) add((n) => `target_environment_id = $${n}`, filters.environmentId);
  return listPage<{ body: Promotion }, Promotion>(pool, { from: 'promotions', select: 'body', where, params, sortColumns: PROMOTION_SORT_COLUMNS, idColumn: 'id::text' }, request, (r) => r.body);
}

/**
 * What the caller may approve now. Postgres narrows to undecided promotions
 * whose approver groups meet the caller's (or that name none, for holders of
 * promotion:approve); the domain rule then drops the caller's own requests
 * under SoD and what they already approved.
 */
export async function pendingFor(pool: Pool, tenantId: string, actor: Actor, canApproveWithoutGroups: boolean): Promise<Promotion[]> {
  const { rows } = await pool.query<{ body: Promotion }>(
    `SELECT body FROM promotions
      WHERE tenant_id = $1 AND status = ANY($2::text[])
        AND (approver_groups && $3::text[] OR ($4 AND approver_groups = '{}'))
      ORDER BY requested_at, id LIMIT 500`,
    [tenantId, UNDECIDED, actor.groups ?? [], canApproveWithoutGroups],
  );
  return rows.map((r) => r.body).filter((p) => mayApproveNow(p, actor));
}

export const POLICY_COLUMNS = 'id, name, environment_id, version, required_approvals, approver_groups, require_sod, auto_expire_hours, cel_gates, http_gates, created_by, created_at, updated_at';

/** An approval_policies row as POLICY_COLUMNS reads it. */
export type PolicyRow = {
  id: string;
  name: string;
  environment_id: string;
  version: number;
  required_approvals: number;
  approver_groups: string[];
  require_sod: boolean;
  auto_expire_hours: number | null;
  cel_gates: CelGate[];
  http_gates: HttpGate[];
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

export const presentPolicy = (r: PolicyRow) => ({
  id: r.id,
  name: r.name,
  environmentId: r.environment_id,
  version: r.version,
  requiredApprovals: r.required_approvals,
  approverGroups: r.approver_groups,
  requireSeparationOfDuties: r.require_sod,
  autoExpireHours: r.auto_expire_hours,
  celGates: r.cel_gates,
  httpGates: r.http_gates,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

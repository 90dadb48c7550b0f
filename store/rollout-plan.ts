import type { PlanTargetRow, RouterAgentRow } from '../domain/rollouts/backends';
import type { IntegrationRef } from '../domain/rollouts/integrations';
import type { Pool, PoolClient } from '../platform/db';

/** What a rollout's start resolves its plan from: the router agent of the environment and its targets with their stickers. */
export async function loadPlanRows(db: Pool | PoolClient, tenantId: string, environmentId: string): Promise<{ agent: RouterAgentRow | undefined; targets: PlanTargetRow[] }> {
  const agents = await db.query<RouterAgentRow>(
    `SELECT id::text, router FROM agents WHERE tenant_id = $1 AND environment_id = $2 AND router IS NOT NULL AND revoked_at IS NULL
      ORDER BY last_heartbeat_at DESC NULLS LAST, id LIMIT 1`,
    [tenantId, environmentId],
  );
  const targets = await db.query<PlanTargetRow>(
    `SELECT t.id::text, t.name, t.labels, t.properties, s.release_id::text AS "releaseId"
       FROM targets t LEFT JOIN target_stickers s ON s.tenant_id = t.tenant_id AND s.target_id = t.id
      WHERE t.tenant_id = $1 AND t.environment_id = $2 ORDER BY lower(t.name)`,
    [tenantId, environmentId],
  );
  return { agent: agents.rows[0], targets: targets.rows };
}

export async function releaseNames(db: Pool | PoolClient, tenantId: string, ids: string[]): Promise<Map<string, { name: string; version: string }>> {
  const { rows } = await db.query<{ id: string; name: string; version: string }>('SELECT id::text, name, version FROM releases WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, ids]);
  return new Map(rows.map((r) => [r.id, { name: r.name, version: r.version }]));
}

/** The tenant's integrations among these ids, with their type and name (no config, no secrets). */
export async function integrationRefs(db: Pool | PoolClient, tenantId: string, ids: string[]): Promise<Map<string, IntegrationRef>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<IntegrationRef>('SELECT id::text, type_id AS "typeId", name FROM integrations WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, ids]);
  return new Map(rows.map((r) => [r.id, r]));
}

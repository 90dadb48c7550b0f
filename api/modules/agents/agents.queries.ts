import { agentTaskQueue } from '../../../domain/deployments/model';
import type { Pool, PoolClient } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { Unprocessable } from '../../errors';

/** Reads and the presenter of agents; status is computed at read, from the heartbeat and the revocation. */

type Db = Pool | PoolClient;
type Row = Record<string, any>;

/** The select list over `agents a`: `offlineAfterMs` comes from config (an integer), never from a request. */
export function agentColumns(offlineAfterMs: number): string {
  return `a.id, a.name, a.environment_id, a.labels, a.version, a.capabilities, a.last_heartbeat_at, a.registered_at, a.registered_by, a.updated_at,
          ${agentStatusSql(offlineAfterMs)} AS status,
          ARRAY(SELECT t.id::text FROM targets t WHERE t.tenant_id = a.tenant_id AND t.agent_id = a.id ORDER BY t.name, t.id) AS target_ids`;
}

export function agentStatusSql(offlineAfterMs: number): string {
  const ms = Math.max(0, Math.floor(Number(offlineAfterMs)));
  return `(CASE WHEN a.revoked_at IS NOT NULL THEN 'revoked' WHEN a.last_heartbeat_at > now() - ${ms} * interval '1 millisecond' THEN 'online' ELSE 'offline' END)`;
}

export function presentAgent(r: Row) {
  return {
    id: r.id as string,
    name: r.name as string,
    environmentId: r.environment_id as string,
    labels: r.labels as Record<string, string>,
    version: (r.version ?? null) as string | null,
    capabilities: r.capabilities as string[],
    status: r.status as 'online' | 'offline' | 'revoked',
    lastHeartbeatAt: iso(r.last_heartbeat_at),
    registeredAt: iso(r.registered_at)!,
    registeredBy: r.registered_by as string,
    updatedAt: iso(r.updated_at)!,
    targetIds: r.target_ids as string[],
    taskQueue: agentTaskQueue(r.id),
  };
}

export async function findAgent(db: Db, tenantId: string, id: string, offlineAfterMs: number) {
  const { rows } = await db.query(`SELECT ${agentColumns(offlineAfterMs)} FROM agents a WHERE a.tenant_id = $1 AND a.id = $2`, [tenantId, id]);
  return rows[0] ? presentAgent(rows[0]) : undefined;
}

export async function requireEnvironment(db: PoolClient, tenantId: string, id: string): Promise<string> {
  const found = await db.query('SELECT name FROM environments WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, id]);
  if (!found.rowCount) throw new Unprocessable(`Environment ${id} does not exist`, 'ENVIRONMENT_NOT_FOUND', { environmentId: id });
  return found.rows[0].name;
}

/**
 * The targets a new agent takes over: the ones named (all must stand in its
 * environment), or else every target there without an agent whose labels
 * include all of the agent's.
 */
export async function takeOverTargets(
  db: PoolClient,
  tenantId: string,
  agentId: string,
  agent: { environmentId: string; labels: Record<string, string>; targets?: string[] },
  environmentName: string,
): Promise<string[]> {
  if (agent.targets === undefined) {
    const { rows } = await db.query(
      `UPDATE targets SET agent_id = $3, updated_at = now()
        WHERE tenant_id = $1 AND environment_id = $2 AND agent_id IS NULL AND labels @> $4::jsonb RETURNING id`,
      [tenantId, agent.environmentId, agentId, JSON.stringify(agent.labels)],
    );
    return rows.map((r) => r.id as string);
  }
  const wanted = [...new Set(agent.targets.map((n) => n.toLowerCase()))];
  if (wanted.length === 0) return [];
  const { rows } = await db.query(
    'SELECT id, lower(name) AS key FROM targets WHERE tenant_id = $1 AND environment_id = $2 AND lower(name) = ANY($3::text[]) FOR UPDATE',
    [tenantId, agent.environmentId, wanted],
  );
  const found = new Set(rows.map((r) => r.key as string));
  const missing = agent.targets.filter((n, i, all) => !found.has(n.toLowerCase()) && all.findIndex((m) => m.toLowerCase() === n.toLowerCase()) === i);
  if (missing.length) {
    throw new Unprocessable(`No target named ${missing.join(', ')} in environment ${environmentName}`, 'TARGET_NOT_FOUND', { missing, environmentId: agent.environmentId });
  }
  const ids = rows.map((r) => r.id as string);
  await db.query('UPDATE targets SET agent_id = $2, updated_at = now() WHERE tenant_id = $1 AND id = ANY($3::uuid[])', [tenantId, agentId, ids]);
  return ids;
}

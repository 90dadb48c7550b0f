import type { AgentRouter } from '../../../domain/traffic';
import { agentTaskQueue } from '../../../domain/deployments/model';
import { rolesGranting } from '../../../domain/permissions';
import type { Pool, PoolClient } from '../../../platform/db';
import { agentStatusSql } from '../../agent-status';
import { iso } from '../../entity-writes';
import { Conflict, Forbidden, Unprocessable } from '../../errors';
import { decideTakeOver, type NamedTarget, type TakeOverDecision, type TakenFrom } from '../../../domain/deployments/target-takeover';

/** Reads and the presenter of agents; status is computed at read, from the heartbeat and the revocation. */

type Db = Pool | PoolClient;
type Row = Record<string, any>;

/** The select list over `agents a`: `offlineAfterMs` comes from config (an integer), never from a request. */
export function agentColumns(offlineAfterMs: number): string {
  return `a.id, a.name, a.environment_id, a.labels, a.version, a.capabilities, a.router, a.last_heartbeat_at, a.registered_at, a.registered_by, a.updated_at,
          ${agentStatusSql(offlineAfterMs)} AS status,
          ARRAY(SELECT t.id::text FROM targets t WHERE t.tenant_id = a.tenant_id AND t.agent_id = a.id ORDER BY t.name, t.id) AS target_ids`;
}

export function presentAgent(r: Row) {
  return {
    id: r.id as string,
    name: r.name as string,
    environmentId: r.environment_id as string,
    labels: r.labels as Record<string, string>,
    version: (r.version ?? null) as string | null,
    capabilities: r.capabilities as string[],
    router: (r.router ?? null) as AgentRouter | null,
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
 * include all of the agent's. A named target of an online agent moves only on
 * a take-over (domain/deployments/target-takeover.ts); every agent that loses
 * a target is told at its next heartbeat (agent_target_losses).
 */
export async function takeOverTargets(
  db: PoolClient,
  tenantId: string,
  agent: { id: string; name: string; environmentId: string; labels: Record<string, string>; targets?: string[]; takeOver: boolean },
  environmentName: string,
  rules: { offlineAfterMs: number; canManage: boolean },
): Promise<{ targetIds: string[]; takenFrom: TakenFrom[] }> {
  // Asked for by a caller who may not, takeOver is refused whatever it would have moved.
  refuseUnless(decideTakeOver({ targets: [], takeOver: agent.takeOver, canManage: rules.canManage }));
  if (agent.targets === undefined) {
    const { rows } = await db.query(
      `UPDATE targets SET agent_id = $3, updated_at = now()
        WHERE tenant_id = $1 AND environment_id = $2 AND agent_id IS NULL AND labels @> $4::jsonb RETURNING id`,
      [tenantId, agent.environmentId, agent.id, JSON.stringify(agent.labels)],
    );
    return { targetIds: rows.map((r) => r.id as string), takenFrom: [] };
  }
  const wanted = [...new Set(agent.targets.map((n) => n.toLowerCase()))];
  if (wanted.length === 0) return { targetIds: [], takenFrom: [] };
  // An owner that heartbeats online right after this look still learns of its loss at that heartbeat's answer.
  const { rows } = await db.query(
    `SELECT t.id, t.name, lower(t.name) AS key, a.id AS owner_id, a.name AS owner_name, ${agentStatusSql(rules.offlineAfterMs)} AS owner_status
       FROM targets t LEFT JOIN agents a ON a.tenant_id = t.tenant_id AND a.id = t.agent_id
      WHERE t.tenant_id = $1 AND t.environment_id = $2 AND lower(t.name) = ANY($3::text[])
      ORDER BY t.name, t.id
      FOR UPDATE OF t`,
    [tenantId, agent.environmentId, wanted],
  );
  const found = new Set(rows.map((r) => r.key as string));
  const missing = agent.targets.filter((n, i, all) => !found.has(n.toLowerCase()) && all.findIndex((m) => m.toLowerCase() === n.toLowerCase()) === i);
  if (missing.length) {
    throw new Unprocessable(`No target named ${missing.join(', ')} in environment ${environmentName}`, 'TARGET_NOT_FOUND', { missing, environmentId: agent.environmentId });
  }
  const targets: NamedTarget[] = rows.map((r) => ({ id: r.id, name: r.name, owner: r.owner_id ? { id: r.owner_id, name: r.owner_name, status: r.owner_status } : null }));
  const decision = refuseUnless(decideTakeOver({ targets, takeOver: agent.takeOver, canManage: rules.canManage }));
  const ids = rows.map((r) => r.id as string);
  await db.query('UPDATE targets SET agent_id = $2, updated_at = now() WHERE tenant_id = $1 AND id = ANY($3::uuid[])', [tenantId, agent.id, ids]);
  for (const from of decision.takenFrom) {
    await db.query(
      `INSERT INTO agent_target_losses (tenant_id, agent_id, target_id, target_name, taken_by_agent_id, taken_by_agent_name)
       SELECT $1, $2, t.id, t.name, $4, $5 FROM unnest($3::uuid[], $6::text[]) AS t(id, name)
       ON CONFLICT (tenant_id, agent_id, target_id) DO UPDATE
         SET target_name = EXCLUDED.target_name, taken_by_agent_id = EXCLUDED.taken_by_agent_id, taken_by_agent_name = EXCLUDED.taken_by_agent_name, taken_at = now()`,
      [tenantId, from.agentId, from.targets.map((t) => t.id), agent.id, agent.name, from.targets.map((t) => t.name)],
    );
  }
  return { targetIds: ids, takenFrom: decision.takenFrom };
}

function refuseUnless(decision: TakeOverDecision): Extract<TakeOverDecision, { allowed: true }> {
  if (decision.allowed) return decision;
  const details = { owned: decision.owned };
  if (decision.code === 'TAKE_OVER_FORBIDDEN') throw new Forbidden(decision.message, 'FORBIDDEN', { required: 'agent:manage', allowedRoles: rolesGranting('agent:manage'), ...details });
  throw new Conflict(decision.message, decision.code, details);
}

/** The targets this agent lost to other agents since its last heartbeat answer; handed over once (the rows go). */
export async function takeLostTargets(db: PoolClient, tenantId: string, agentId: string) {
  const { rows } = await db.query(
    `DELETE FROM agent_target_losses l WHERE l.tenant_id = $1 AND l.agent_id = $2
     RETURNING l.target_id, l.target_name, l.taken_by_agent_id, l.taken_by_agent_name, l.taken_at,
               EXISTS (SELECT 1 FROM targets t WHERE t.tenant_id = l.tenant_id AND t.id = l.target_id AND t.agent_id = l.agent_id) AS back`,
    [tenantId, agentId],
  );
  return rows
    .filter((r) => !r.back)
    .sort((x, y) => String(x.target_name).localeCompare(String(y.target_name)))
    .map((r) => ({ targetId: r.target_id as string, targetName: r.target_name as string, takenByAgentId: r.taken_by_agent_id as string, takenByAgentName: r.taken_by_agent_name as string, takenAt: iso(r.taken_at)! }));
}

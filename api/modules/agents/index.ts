import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { agentTaskQueue } from '../../../domain/deployments/model';
import { hasPermission } from '../../../domain/permissions';
import { recordAudit } from '../../../platform/audit';
import { withTransaction } from '../../../platform/db';
import { issueAgentCredential } from '../../auth/agent-credentials';
import { tokenFacts } from '../../auth/token-facts';
import { bearerTokenOf } from '../../middleware/auth';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { NotFound } from '../../errors';
import { listPage, type SortColumn } from '../../list-query';
import { pageRequest, parseSort } from '../../pagination';
import { principalOf, requireAgentCredential, requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { requireReader, requireSelf } from './agent-access';
import { agentTaskRoutes } from './agent-tasks';
import { agentWorkRoutes } from './agent-work';
import { agentScriptRoutes } from './agent-scripts';
import { agentStatusSql } from '../../agent-status';
import { agentColumns, findAgent, presentAgent, requireEnvironment, takeLostTargets, takeOverTargets } from './agents.queries';
import { recordRegistrationToken, requireUnusedRegistrationToken } from './registration-tokens';
import * as routes from './agents.routes';

const SORTS: Record<(typeof routes.AGENT_SORTS)[number], SortColumn> = {
  name: { column: 'a.name', cast: 'text' },
  registered_at: { column: 'a.registered_at', cast: 'timestamptz' },
};
const DUPLICATE = { '*': 'An agent with this name already exists' };

/** Agents: registered through the API, identified afterwards by their own credential (api/auth/agent-credentials.ts). */
export function agentsRouter() {
  const router = createRouter();

  router.openapi(routes.registerAgentRoute, async (c) => {
    const principal = requirePermission(c, 'agent:register');
    const { tenantId } = principal;
    const body = c.req.valid('json');
    const { config } = c.get('deps');
    const id = randomUUID();
    const { credential, hash } = issueAgentCredential(id);
    const registeredBy = principal.email ?? principal.userId;
    const token = tokenFacts(bearerTokenOf(c) ?? '');
    await auditedWrite(
      c,
      async (db) => {
        const environmentName = await requireEnvironment(db, tenantId, body.environmentId);
        await requireUnusedRegistrationToken(db, tenantId, body.name, token.key);
        await db.query(
          `INSERT INTO agents (tenant_id, id, name, environment_id, labels, version, capabilities, credential_hash, registered_by, router)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
          [tenantId, id, body.name, body.environmentId, JSON.stringify(body.labels), body.version ?? null, JSON.stringify([...new Set(body.capabilities)]), hash, registeredBy, body.router ? JSON.stringify(body.router) : null],
        );
        const { targetIds, takenFrom } = await takeOverTargets(db, tenantId, { ...body, id }, environmentName, {
          offlineAfterMs: config.AGENT_OFFLINE_AFTER,
          canManage: hasPermission(principal, 'agent:manage'),
        });
        await recordRegistrationToken(db, tenantId, { agentId: id, name: body.name, tokenKey: token.key, expiresAt: token.expiresAt, registeredBy });
        // Each agent that lost targets has its own audit row: its history shows who took what.
        for (const from of takenFrom) {
          await recordAudit(db, {
            tenantId,
            actor: registeredBy,
            action: 'agent.targets-taken',
            resourceType: 'agent',
            resourceId: from.agentId,
            before: { targetIds: from.targets.map((t) => t.id) },
            after: { takenBy: { agentId: id, name: body.name }, targets: from.targets, takeOver: body.takeOver },
            requestId: c.get('requestId'),
          });
        }
        return { result: id, audit: { action: 'agent.register', resourceType: 'agent', resourceId: id, after: { ...body, targetIds, takenFrom } } };
      },
      { unique: DUPLICATE },
    );
    c.header('Location', `${c.req.path.replace(/\/register$/, '')}/${id}`);
    return ok(
      c,
      {
        agent: await existing(c, tenantId, id),
        credential,
        taskQueue: agentTaskQueue(id),
        workChannel: `/api/v1/agents/${id}/work`,
        heartbeatIntervalSeconds: config.AGENT_HEARTBEAT_INTERVAL / 1000,
      },
      201,
    );
  });

  router.openapi(routes.listAgentsRoute, async (c) => {
    const { tenantId } = requireReader(c);
    const query = c.req.valid('query');
    const offlineAfter = c.get('deps').config.AGENT_OFFLINE_AFTER;
    const where = ['a.tenant_id = $1'];
    const params: unknown[] = [tenantId];
    if (query.environmentId) {
      params.push(query.environmentId);
      where.push(`a.environment_id = $${params.length}`);
    }
    if (query.status) {
      params.push(query.status);
      where.push(`${agentStatusSql(offlineAfter)} = $${params.length}`);
    }
    const sort = parseSort(query, Object.keys(SORTS), { field: 'name', direction: 'asc' });
    const page = await listPage(
      c.get('deps').pool,
      { from: 'agents a', select: agentColumns(offlineAfter), where, params, sortColumns: SORTS, idColumn: 'a.id::text' },
      pageRequest(c.get('dialect'), query, sort),
      presentAgent,
    );
    return okList(c, page);
  });

  router.openapi(routes.getAgentRoute, async (c) => {
    const { id } = c.req.valid('param');
    // An agent reads its own record (it is trusted with nothing else); people need a read permission.
    const { tenantId } = principalOf(c).agentId === id ? principalOf(c) : requireReader(c);
    return ok(c, await existing(c, tenantId, id));
  });

  router.openapi(routes.updateAgentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'agent:manage');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const offlineAfter = c.get('deps').config.AGENT_OFFLINE_AFTER;
    await auditedWrite(
      c,
      async (db) => {
        const before = (await db.query(`SELECT ${agentColumns(offlineAfter)}, a.revoked_at FROM agents a WHERE a.tenant_id = $1 AND a.id = $2 FOR UPDATE OF a`, [tenantId, id])).rows[0];
        if (!before) return undefined;
        await db.query(
          `UPDATE agents SET name = $3, labels = $4, revoked_at = CASE WHEN $5 THEN COALESCE(revoked_at, now()) END, updated_at = now()
            WHERE tenant_id = $1 AND id = $2`,
          [tenantId, id, body.name, JSON.stringify(body.labels), body.revoked],
        );
        const wasRevoked = before.revoked_at !== null;
        const action = body.revoked && !wasRevoked ? 'agent.revoke' : !body.revoked && wasRevoked ? 'agent.restore' : 'agent.update';
        return { result: id, audit: { action, resourceType: 'agent', resourceId: id, before: presentAgent(before), after: body } };
      },
      { unique: DUPLICATE, notFound: `Agent ${id} not found` },
    );
    return ok(c, await existing(c, tenantId, id));
  });

  router.openapi(routes.deleteAgentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'agent:manage');
    const { id } = c.req.valid('param');
    const offlineAfter = c.get('deps').config.AGENT_OFFLINE_AFTER;
    await auditedWrite(c, async (db) => {
      const before = (await db.query(`SELECT ${agentColumns(offlineAfter)} FROM agents a WHERE a.tenant_id = $1 AND a.id = $2 FOR UPDATE OF a`, [tenantId, id])).rows[0];
      if (!before) return undefined;
      await db.query('UPDATE targets SET agent_id = NULL, updated_at = now() WHERE tenant_id = $1 AND agent_id = $2', [tenantId, id]);
      await db.query('DELETE FROM agents WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return { result: id, audit: { action: 'agent.delete', resourceType: 'agent', resourceId: id, before: presentAgent(before) } };
    }, { notFound: `Agent ${id} not found` });
    return c.body(null, 204);
  });

  router.openapi(routes.heartbeatRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { config, pool } = c.get('deps');
    await requireSelf(c, principal, id);
    // Listed twice, a target's last report wins.
    const reports = [...new Map(body.targets.map((t) => [t.targetId, t])).values()];
    const { recorded, lost } = await withTransaction(pool, async (db) => {
      const versionGiven = body.version !== undefined;
      const capabilities = body.capabilities === undefined ? null : JSON.stringify([...new Set(body.capabilities)]);
      const routerGiven = body.router !== undefined;
      const router = body.router ? JSON.stringify(body.router) : null;
      const beat = await db.query(
        `UPDATE agents SET last_heartbeat_at = now(),
                version = CASE WHEN $3 THEN $4 ELSE version END,
                capabilities = COALESCE($5::jsonb, capabilities),
                router = CASE WHEN $6 THEN $7::jsonb ELSE router END,
                updated_at = CASE WHEN ($3 AND version IS DISTINCT FROM $4) OR ($5::jsonb IS NOT NULL AND capabilities <> $5::jsonb)
                                    OR ($6 AND router IS DISTINCT FROM $7::jsonb) THEN now() ELSE updated_at END
          WHERE tenant_id = $1 AND id = $2`,
        [principal.tenantId, id, versionGiven, body.version ?? null, capabilities, routerGiven, router],
      );
      // Deleted since its credential was checked, a moment ago.
      if (!beat.rowCount) throw new NotFound(`Agent ${id} not found`);
      const lost = await takeLostTargets(db, principal.tenantId, id);
      if (reports.length === 0) return { recorded: new Set<string>(), lost };
      const { rows } = await db.query(
        `UPDATE targets t SET reported = jsonb_build_object('releaseId', r.release_id, 'version', r.version, 'healthy', r.healthy), reported_at = now()
           FROM jsonb_to_recordset($3::jsonb) AS r(target_id uuid, release_id text, version text, healthy boolean)
          WHERE t.tenant_id = $1 AND t.agent_id = $2 AND t.id = r.target_id
          RETURNING t.id`,
        [principal.tenantId, id, JSON.stringify(reports.map((r) => ({ target_id: r.targetId, release_id: r.releaseId, version: r.version, healthy: r.healthy })))],
      );
      return { recorded: new Set(rows.map((r) => r.id as string)), lost };
    });
    return ok(c, {
      agent: await existing(c, principal.tenantId, id),
      serverTime: new Date().toISOString(),
      offlineAfterSeconds: config.AGENT_OFFLINE_AFTER / 1000,
      ignoredTargets: reports.map((r) => r.targetId).filter((t) => !recorded.has(t)),
      lostTargets: lost,
    });
  });

  agentTaskRoutes(router);
  agentWorkRoutes(router);
  agentScriptRoutes(router);
  return router;
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const agent = await findAgent(c.get('deps').pool, tenantId, id, c.get('deps').config.AGENT_OFFLINE_AFTER);
  if (!agent) throw new NotFound(`Agent ${id} not found`);
  return agent;
}

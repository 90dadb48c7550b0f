import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import { normalizeHealthCheck, type healthCheckSchema } from '../../../domain/inventory-fields';
import { mergeTargetPatch, putFormOf } from '../../../domain/promotions/inventory-patches';
import { targetSchema } from '../../../domain/promotions/requests';
import type { PoolClient } from '../../../platform/db';
import { findCi } from '../../../store/cmdb';
import type { AppEnv } from '../../context';
import { auditedWrite, iso } from '../../entity-writes';
import { NotFound, Unprocessable } from '../../errors';
import { listPage, type SortColumn } from '../../list-query';
import { asPutBody } from '../../patch-body';
import { pageRequest, parseSort } from '../../pagination';
import { principalOf, requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { drift, presentSticker, STICKER_COLUMNS } from './targets.drift';
import { targetHealthCheckRoutes } from './targets.health-check';
import * as routes from './targets.routes';

const SORTS: Record<(typeof routes.TARGET_SORTS)[number], SortColumn> = { name: { column: 'name', cast: 'text' }, created_at: { column: 'created_at', cast: 'timestamptz' } };
const COLUMNS = `id, name, environment_id, labels, properties, health_check, agent_id, ci_id, created_at, updated_at,
  (SELECT a.name FROM agents a WHERE a.tenant_id = targets.tenant_id AND a.id = targets.agent_id) AS agent_name`;
const DUPLICATE = { '*': 'A target with this name already exists' };

/** A targets row as COLUMNS reads it. */
type TargetRow = {
  id: string;
  name: string;
  environment_id: string;
  labels: Record<string, string>;
  properties: Record<string, string> | null;
  /** Stored normalized (normalizeHealthCheck), which is a form the input schema accepts. */
  health_check: z.infer<typeof healthCheckSchema> | null;
  agent_id: string | null;
  ci_id: string | null;
  created_at: Date;
  updated_at: Date;
  agent_name: string | null;
};

const present = (r: TargetRow) => ({
  id: r.id,
  name: r.name,
  environmentId: r.environment_id,
  labels: r.labels,
  properties: r.properties ?? {},
  healthCheck: normalizeHealthCheck(r.health_check),
  agentId: r.agent_id,
  agentName: r.agent_name ?? null,
  ciId: r.ci_id,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

async function requireEnvironment(db: PoolClient, tenantId: string, id: string): Promise<void> {
  const found = await db.query('SELECT 1 FROM environments WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, id]);
  if (!found.rowCount) throw new Unprocessable(`Environment ${id} does not exist`, 'ENVIRONMENT_NOT_FOUND', { environmentId: id });
}

/** Held until commit, so the agent cannot be deleted or moved under the assignment. */
async function requireAgent(db: PoolClient, tenantId: string, agentId: string, environmentId: string): Promise<void> {
  // KEY SHARE keeps the agent from being deleted under the write without waiting on its heartbeat's row update: a heartbeat
  // holds the agent row and then writes its targets, so a stronger lock here, taken after the target's, closed a deadlock.
  const found = await db.query('SELECT environment_id FROM agents WHERE tenant_id = $1 AND id = $2 FOR KEY SHARE', [tenantId, agentId]);
  if (!found.rowCount) throw new Unprocessable(`Agent ${agentId} does not exist`, 'AGENT_NOT_FOUND', { agentId });
  if (found.rows[0].environment_id !== environmentId) {
    throw new Unprocessable(`Agent ${agentId} serves another environment than the target's`, 'AGENT_NOT_FOUND', { agentId, agentEnvironmentId: found.rows[0].environment_id });
  }
}

async function requireCi(db: PoolClient, tenantId: string, ciId: string | null | undefined): Promise<void> {
  if (ciId && !(await findCi(db, tenantId, ciId))) throw new Unprocessable(`ciId names no configuration item of this tenant (${ciId})`, 'UNKNOWN_CI', { ciId });
}

/** People read targets with inventory:read; an agent, with its own credential, reads only the targets it deploys to. */
function requireTargetReader(c: Context<AppEnv>): { tenantId: string; ownAgent?: string } {
  const principal = principalOf(c);
  if (principal.agentId) return { tenantId: principal.tenantId, ownAgent: principal.agentId };
  return { tenantId: requirePermission(c, 'inventory:read').tenantId };
}

const lockTarget = async (db: PoolClient, tenantId: string, id: string) =>
  (await db.query<TargetRow>(`SELECT ${COLUMNS} FROM targets WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id])).rows[0] as TargetRow | undefined;

/** Writes a PUT body over the target `before` (locked): the write PUT and PATCH share. */
async function replaceTarget(db: PoolClient, tenantId: string, id: string, before: TargetRow, body: z.infer<typeof targetSchema>) {
  await requireEnvironment(db, tenantId, body.environmentId);
  // Agents assign themselves at registration: a body that does not name one keeps it, unless the target leaves the agent's environment.
  const agentId = body.agentId !== undefined ? body.agentId : before.environment_id === body.environmentId ? before.agent_id : null;
  if (agentId) await requireAgent(db, tenantId, agentId, body.environmentId);
  await requireCi(db, tenantId, body.ciId);
  const { rows } = await db.query<TargetRow>(
    `UPDATE targets SET name = $3, environment_id = $4, labels = $5, properties = $6, health_check = $7, agent_id = $8, ci_id = $9, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, body.name, body.environmentId, JSON.stringify(body.labels), JSON.stringify(body.properties), json(normalizeHealthCheck(body.healthCheck)), agentId, body.ciId ?? null],
  );
  return rows[0];
}

/** Targets: plain entities; each is deployed to by at most one agent of its environment. */
export function targetsRouter() {
  const router = createRouter();

  router.openapi(routes.listTargetsRoute, async (c) => {
    const { tenantId, ownAgent } = requireTargetReader(c);
    const query = c.req.valid('query');
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    if (ownAgent) {
      params.push(ownAgent);
      where.push(`agent_id = $${params.length}`);
    }
    if (query.environmentId) {
      params.push(query.environmentId);
      where.push(`environment_id = $${params.length}`);
    }
    if (query.label) {
      const [key, ...rest] = query.label.split('=');
      params.push(JSON.stringify({ [key]: rest.join('=') }));
      where.push(`labels @> $${params.length}::jsonb`);
    }
    const sort = parseSort(query, Object.keys(SORTS), { field: 'name', direction: 'asc' });
    const page = await listPage(c.get('deps').pool, { from: 'targets', select: COLUMNS, where, params, sortColumns: SORTS, idColumn: 'id::text' }, pageRequest(c.get('dialect'), query, sort), present);
    return okList(c, page);
  });

  router.openapi(routes.createTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const body = c.req.valid('json');
    const id = randomUUID();
    const row = await auditedWrite(
      c,
      async (db) => {
        await requireEnvironment(db, tenantId, body.environmentId);
        if (body.agentId) await requireAgent(db, tenantId, body.agentId, body.environmentId);
        await requireCi(db, tenantId, body.ciId);
        const { rows } = await db.query<TargetRow>(
          `INSERT INTO targets (tenant_id, id, environment_id, name, labels, properties, health_check, agent_id, ci_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING ${COLUMNS}`,
          [tenantId, id, body.environmentId, body.name, JSON.stringify(body.labels), JSON.stringify(body.properties), json(normalizeHealthCheck(body.healthCheck)), body.agentId ?? null, body.ciId ?? null],
        );
        return { result: rows[0], audit: { action: 'target.create', resourceType: 'target', resourceId: id, after: body } };
      },
      { unique: DUPLICATE },
    );
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, present(row), 201);
  });

  router.openapi(routes.getTargetRoute, async (c) => {
    const { tenantId, ownAgent } = requireTargetReader(c);
    const target = await existing(c, tenantId, c.req.valid('param').id);
    if (ownAgent && target.agent_id !== ownAgent) throw new NotFound(`Target ${c.req.valid('param').id} not found`);
    return ok(c, present(target));
  });

  router.openapi(routes.updateTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const row = await auditedWrite(
      c,
      async (db) => {
        const before = await lockTarget(db, tenantId, id);
        if (!before) return undefined;
        const result = await replaceTarget(db, tenantId, id, before, body);
        return { result, audit: { action: 'target.update', resourceType: 'target', resourceId: id, before: present(before), after: body } };
      },
      { unique: DUPLICATE, notFound: `Target ${id} not found` },
    );
    return ok(c, present(row));
  });

  // Same permission and rules as PUT: the patch is merged into the target as it stands, under its row lock, then held to the PUT schema.
  router.openapi(routes.patchTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const row = await auditedWrite(
      c,
      async (db) => {
        const before = await lockTarget(db, tenantId, id);
        if (!before) return undefined;
        const current = present(before);
        const body = asPutBody(targetSchema, mergeTargetPatch(putFormOf(targetSchema, current, ['agentId']), patch));
        const result = await replaceTarget(db, tenantId, id, before, body);
        return { result, audit: { action: 'target.patch', resourceType: 'target', resourceId: id, before: current, after: body } };
      },
      { unique: DUPLICATE, notFound: `Target ${id} not found` },
    );
    return ok(c, present(row));
  });

  router.openapi(routes.deleteTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const gone = await db.query<TargetRow>(`DELETE FROM targets WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [tenantId, id]);
      if (!gone.rowCount) return undefined;
      return { result: id, audit: { action: 'target.delete', resourceType: 'target', resourceId: id, before: present(gone.rows[0]) } };
    }, { notFound: `Target ${id} not found` });
    return c.body(null, 204);
  });

  router.openapi(routes.getStickerRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id } = c.req.valid('param');
    const target = await existing(c, tenantId, id);
    const sticker = await stickerOf(c, tenantId, id);
    if (!sticker) throw new NotFound(`Target ${target.name} has no version sticker yet: nothing was deployed to it`, 'NO_STICKER');
    return ok(c, sticker);
  });

  router.openapi(routes.getDriftRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id } = c.req.valid('param');
    const { rows } = await c.get('deps').pool.query('SELECT id, agent_id, reported, reported_at FROM targets WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    if (!rows[0]) throw new NotFound(`Target ${id} not found`);
    const t = rows[0];
    const staleAfter = c.get('deps').config.AGENT_OFFLINE_AFTER;
    return ok(c, drift({ id: t.id, agentId: t.agent_id, reported: t.reported, reportedAt: t.reported_at }, await stickerOf(c, tenantId, id), staleAfter));
  });

  targetHealthCheckRoutes(router);
  return router;
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const { rows } = await c.get('deps').pool.query<TargetRow>(`SELECT ${COLUMNS} FROM targets WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  if (!rows[0]) throw new NotFound(`Target ${id} not found`);
  return rows[0];
}

async function stickerOf(c: Context<AppEnv>, tenantId: string, targetId: string) {
  const { rows } = await c.get('deps').pool.query(`SELECT ${STICKER_COLUMNS} FROM target_stickers WHERE tenant_id = $1 AND target_id = $2`, [tenantId, targetId]);
  return rows[0] ? presentSticker(rows[0]) : null;
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

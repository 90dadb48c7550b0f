import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { PoolClient } from '../../../platform/db';
import type { AppEnv } from '../../context';
import { auditedWrite, iso } from '../../entity-writes';
import { NotFound, Unprocessable } from '../../errors';
import { listPage, type SortColumn } from '../../list-query';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { notFoundAs } from '../environments';
import * as routes from './targets.routes';

const SORTS: Record<(typeof routes.TARGET_SORTS)[number], SortColumn> = { name: { column: 'name', cast: 'text' }, created_at: { column: 'created_at', cast: 'timestamptz' } };
const COLUMNS = 'id, name, environment_id, labels, agent_id, created_at, updated_at';
const DUPLICATE = { '*': 'A target with this name already exists' };

const present = (r: Record<string, any>) => ({
  id: r.id,
  name: r.name,
  environmentId: r.environment_id,
  labels: r.labels,
  agentId: r.agent_id,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

async function requireEnvironment(db: PoolClient, tenantId: string, id: string): Promise<void> {
  const found = await db.query('SELECT 1 FROM environments WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, id]);
  if (!found.rowCount) throw new Unprocessable(`Environment ${id} does not exist`, 'ENVIRONMENT_NOT_FOUND', { environmentId: id });
}

/** Targets: plain entities; agents take them over with the deployment module. */
export function targetsRouter() {
  const router = createRouter();

  router.openapi(routes.listTargetsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
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
    return okList(c, page) as never;
  });

  router.openapi(routes.createTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const body = c.req.valid('json');
    const id = randomUUID();
    const row = await auditedWrite(
      c,
      async (db) => {
        await requireEnvironment(db, tenantId, body.environmentId);
        const { rows } = await db.query(`INSERT INTO targets (tenant_id, id, environment_id, name, labels) VALUES ($1,$2,$3,$4,$5) RETURNING ${COLUMNS}`, [
          tenantId,
          id,
          body.environmentId,
          body.name,
          JSON.stringify(body.labels),
        ]);
        return { result: rows[0], audit: { action: 'target.create', resourceType: 'target', resourceId: id, after: body } };
      },
      { unique: DUPLICATE },
    );
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, present(row), 201) as never;
  });

  router.openapi(routes.getTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    return ok(c, present(await existing(c, tenantId, c.req.valid('param').id))) as never;
  });

  router.openapi(routes.updateTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const row = await auditedWrite(
      c,
      async (db) => {
        const before = (await db.query(`SELECT ${COLUMNS} FROM targets WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id])).rows[0];
        if (!before) return undefined;
        await requireEnvironment(db, tenantId, body.environmentId);
        const { rows } = await db.query(
          `UPDATE targets SET name = $3, environment_id = $4, labels = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
          [tenantId, id, body.name, body.environmentId, JSON.stringify(body.labels)],
        );
        return { result: rows[0], audit: { action: 'target.update', resourceType: 'target', resourceId: id, before: present(before), after: body } };
      },
      { unique: DUPLICATE },
    ).catch(notFoundAs(`Target ${id} not found`));
    return ok(c, present(row)) as never;
  });

  router.openapi(routes.deleteTargetRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const gone = await db.query(`DELETE FROM targets WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`, [tenantId, id]);
      if (!gone.rowCount) return undefined;
      return { result: id, audit: { action: 'target.delete', resourceType: 'target', resourceId: id, before: present(gone.rows[0]) } };
    }).catch(notFoundAs(`Target ${id} not found`));
    return c.body(null, 204);
  });

  return router;
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const { rows } = await c.get('deps').pool.query(`SELECT ${COLUMNS} FROM targets WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  if (!rows[0]) throw new NotFound(`Target ${id} not found`);
  return rows[0];
}

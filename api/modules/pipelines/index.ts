import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { pipelineSchema } from '../../../domain/promotions/pipeline-requests';
import { pipelineProblems } from '../../../domain/promotions/pipelines';
import { notifyOpenPromotions } from '../../../dispatch/promotion-signals';
import type { PoolClient } from '../../../platform/db';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { listPage } from '../../list-query';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { findPipeline, PIPELINE_COLUMNS, PIPELINE_SORT_COLUMNS, presentPipeline, type PipelineRow } from './pipelines.queries';
import * as routes from './pipelines.routes';

type PipelineInput = z.infer<typeof pipelineSchema>;

const DUPLICATE = { '*': 'A pipeline with this name already exists' };
const notFound = (id: string) => new NotFound(`Pipeline ${id} not found`, 'PIPELINE_NOT_FOUND');

/**
 * The environments a pipeline lists must be the tenant's; they are held (FOR SHARE) until the write commits,
 * so none is deleted under the new pipeline.
 */
async function requireEnvironments(db: PoolClient, tenantId: string, ids: string[]): Promise<void> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM environments WHERE tenant_id = $1 AND id = ANY($2::uuid[]) FOR SHARE', [tenantId, ids]);
  const missing = pipelineProblems(ids, new Set(rows.map((r) => r.id.toLowerCase()))).filter((p) => p.code === 'not_found');
  if (missing.length) {
    const unknown = missing.map((p) => p.environmentId);
    throw new Unprocessable(`environmentIds: no such environment ${unknown.join(', ')}`, 'ENVIRONMENT_NOT_FOUND', { field: 'environmentIds', environmentIds: unknown });
  }
}

/** Pipelines: plain Postgres entities, audited, tenant-scoped; the order gate reads them through store/gate-inputs.ts. */
export function pipelinesRouter() {
  const router = createRouter();

  router.openapi(routes.listPipelinesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.PIPELINE_SORTS, { field: 'name', direction: 'asc' });
    const page = await listPage<PipelineRow, ReturnType<typeof presentPipeline>>(
      c.get('deps').pool,
      { from: 'pipelines p', select: PIPELINE_COLUMNS, where: ['p.tenant_id = $1'], params: [tenantId], sortColumns: PIPELINE_SORT_COLUMNS, idColumn: 'p.id::text' },
      pageRequest(c.get('dialect'), query, sort),
      presentPipeline,
    );
    return okList(c, page);
  });

  router.openapi(routes.createPipelineRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'pipeline:write');
    const body = c.req.valid('json');
    const id = randomUUID();
    await auditedWrite(
      c,
      async (db) => {
        await requireEnvironments(db, tenantId, body.environmentIds);
        await db.query('INSERT INTO pipelines (tenant_id, id, name, description, environment_ids, created_by) VALUES ($1,$2,$3,$4,$5,$6)', [
          tenantId, id, body.name, body.description ?? null, body.environmentIds, userId,
        ]);
        return { result: id, audit: { action: 'pipeline.create', resourceType: 'pipeline', resourceId: id, after: body } };
      },
      { unique: DUPLICATE },
    );
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, await existing(c, tenantId, id), 201);
  });

  router.openapi(routes.getPipelineRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    return ok(c, await existing(c, tenantId, c.req.valid('param').id));
  });

  router.openapi(routes.updatePipelineRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'pipeline:write');
    const { id } = c.req.valid('param');
    const body: PipelineInput = c.req.valid('json');
    await auditedWrite(
      c,
      async (db) => {
        const before = (await db.query('SELECT name, description, environment_ids FROM pipelines WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id])).rows[0];
        if (!before) throw notFound(id);
        await requireEnvironments(db, tenantId, body.environmentIds);
        await db.query('UPDATE pipelines SET name = $3, description = $4, environment_ids = $5, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2', [
          tenantId, id, body.name, body.description ?? null, body.environmentIds,
        ]);
        return { result: id, audit: { action: 'pipeline.update', resourceType: 'pipeline', resourceId: id, before, after: body } };
      },
      { unique: DUPLICATE },
    );
    // The order open promotions of its components are gated by moved: each looks again.
    await notifyComponents(c, tenantId, id, 'the pipeline changed');
    return ok(c, await existing(c, tenantId, id));
  });

  router.openapi(routes.deletePipelineRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'pipeline:write');
    const { id } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const found = await db.query('SELECT name, description, environment_ids FROM pipelines WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]);
      if (!found.rowCount) throw notFound(id);
      const users = await db.query<{ name: string; total: number }>(
        'SELECT name, count(*) OVER ()::int AS total FROM components WHERE tenant_id = $1 AND pipeline_id = $2 ORDER BY name LIMIT 10',
        [tenantId, id],
      );
      if (users.rowCount) {
        const names = users.rows.map((r) => r.name);
        throw new Conflict(`Pipeline ${found.rows[0].name} is followed by ${users.rows[0].total} components (${names.join(', ')}); move them to another pipeline first`, 'IN_USE', {
          components: users.rows[0].total,
          componentNames: names,
        });
      }
      await db.query('DELETE FROM pipelines WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return { result: id, audit: { action: 'pipeline.delete', resourceType: 'pipeline', resourceId: id, before: found.rows[0] } };
    });
    return c.body(null, 204);
  });

  return router;
}

async function notifyComponents(c: Context<AppEnv>, tenantId: string, pipelineId: string, what: string): Promise<void> {
  const { rows } = await c.get('deps').pool.query<{ id: string }>('SELECT id FROM components WHERE tenant_id = $1 AND pipeline_id = $2', [tenantId, pipelineId]);
  for (const r of rows) await notifyOpenPromotions(c.get('deps'), tenantId, { componentId: r.id }, what);
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const found = await findPipeline(c.get('deps').pool, tenantId, id);
  if (!found) throw notFound(id);
  return found;
}

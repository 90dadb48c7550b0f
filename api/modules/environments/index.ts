import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import { normalizeDeploymentSettings } from '../../../domain/inventory-fields';
import { mergeEnvironmentPatch, putFormOf } from '../../../domain/promotions/inventory-patches';
import { environmentSchema } from '../../../domain/promotions/requests';
import type { PoolClient } from '../../../platform/db';
import type { AppEnv } from '../../context';
import { refuseWhileDeploying, requireHookWrite } from '../../deploy-hooks';
import { auditedWrite } from '../../entity-writes';
import { Conflict, NotFound, ValidationFailed } from '../../errors';
import { listPage, type SortColumn } from '../../list-query';
import { asPutBody } from '../../patch-body';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { notifyOpenPromotions } from '../../../dispatch/promotion-signals';
import { ENVIRONMENT_COLUMNS, findEnvironment, presentEnvironment, presentWindow, windowsByEnvironment, type EnvironmentRow, type FreezeWindowRow } from './environments.queries';
import * as routes from './environments.routes';

const SORTS: Record<(typeof routes.ENVIRONMENT_SORTS)[number], SortColumn> = {
  order: { column: '"order"', cast: 'int' },
  name: { column: 'name', cast: 'text' },
  created_at: { column: 'created_at', cast: 'timestamptz' },
};
const DUPLICATE = { '*': 'An environment with this name or this order already exists' };
const RECURRENCE_START_LIMIT_MS = 366 * 86_400_000;
/**
 * How far ahead a one-off window may end. The freeze status merges back-to-back windows, expanding every recurring
 * window up to the end of the one in force: a one-off ending in year 2900 beside a daily rule took seconds per read.
 */
const ONE_OFF_END_LIMIT_MS = 5 * 366 * 86_400_000;

async function lockEnvironment(db: PoolClient, tenantId: string, id: string): Promise<EnvironmentRow> {
  const before = (await db.query<EnvironmentRow>(`SELECT ${ENVIRONMENT_COLUMNS} FROM environments WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id])).rows[0];
  if (!before) throw new NotFound(`Environment ${id} not found`);
  return before;
}

/** Writes a PUT body over the environment (locked): the write PUT and PATCH share. */
/** A write that sets or changes the environment's deploy hook needs deployment:hook-write, and no promotion to it may be deploying. */
async function guardHookChange(c: Context<AppEnv>, db: PoolClient, tenantId: string, id: string, before: EnvironmentRow, body: z.infer<typeof environmentSchema>): Promise<void> {
  if (requireHookWrite(c, before.deployment?.deployHook, body.deployment?.deployHook, `environment ${before.name}`)) {
    await refuseWhileDeploying(db, tenantId, { environmentId: id }, `environment ${before.name}`);
  }
}

async function replaceEnvironment(db: PoolClient, tenantId: string, id: string, body: z.infer<typeof environmentSchema>): Promise<void> {
  await db.query(
    `UPDATE environments SET name = $3, description = $4, "order" = $5, require_sod = $6, required_approvals = $7, security_thresholds = $8,
            require_change_request = $9, deployment = $10, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id, body.name, body.description ?? null, body.order, body.requireSod, body.requiredApprovals, json(body.securityThresholds), body.requireChangeRequest, json(normalizeDeploymentSettings(body.deployment))],
  );
}

/** Environments and freeze windows: plain Postgres entities, audited, tenant-scoped. */
export function environmentsRouter() {
  const router = createRouter();

  router.openapi(routes.listEnvironmentsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, Object.keys(SORTS), { field: 'order', direction: 'asc' });
    const { pool } = c.get('deps');
    const page = await listPage<EnvironmentRow, EnvironmentRow>(
      pool,
      { from: 'environments', select: ENVIRONMENT_COLUMNS, where: ['tenant_id = $1'], params: [tenantId], sortColumns: SORTS, idColumn: 'id::text' },
      pageRequest(c.get('dialect'), query, sort),
      (row) => row,
    );
    const windows = await windowsByEnvironment(pool, tenantId, page.items.map((r) => r.id));
    return okList(c, { ...page, items: page.items.map((r) => presentEnvironment(r, windows.get(r.id) ?? [])) });
  });

  router.openapi(routes.createEnvironmentRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'environment:write');
    const body = c.req.valid('json');
    requireHookWrite(c, null, body.deployment?.deployHook, `environment ${body.name}`);
    const id = randomUUID();
    await auditedWrite(
      c,
      async (db) => {
        await db.query(
          `INSERT INTO environments (tenant_id, id, name, description, "order", require_sod, required_approvals, security_thresholds, require_change_request, created_by, deployment)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
          [tenantId, id, body.name, body.description ?? null, body.order, body.requireSod, body.requiredApprovals, json(body.securityThresholds), body.requireChangeRequest, userId, json(normalizeDeploymentSettings(body.deployment))],
        );
        return { result: id, audit: { action: 'environment.create', resourceType: 'environment', resourceId: id, after: body } };
      },
      { unique: DUPLICATE },
    );
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, await existing(c, tenantId, id), 201);
  });

  router.openapi(routes.getEnvironmentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    return ok(c, await existing(c, tenantId, c.req.valid('param').id));
  });

  router.openapi(routes.updateEnvironmentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    await auditedWrite(
      c,
      async (db) => {
        const before = await lockEnvironment(db, tenantId, id);
        await guardHookChange(c, db, tenantId, id, before, body);
        await replaceEnvironment(db, tenantId, id, body);
        return { result: id, audit: { action: 'environment.update', resourceType: 'environment', resourceId: id, before, after: body } };
      },
      { unique: DUPLICATE },
    );
    await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId: id }, 'environment settings changed');
    return ok(c, await existing(c, tenantId, id));
  });

  // Same permission and rules as PUT: the patch is merged into the environment as it stands, under its row lock, then held to the PUT schema.
  router.openapi(routes.patchEnvironmentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    await auditedWrite(
      c,
      async (db) => {
        const before = await lockEnvironment(db, tenantId, id);
        // Freeze windows are not part of the entity PUT writes.
        const current = putFormOf(environmentSchema, presentEnvironment(before, []));
        const body = asPutBody(environmentSchema, mergeEnvironmentPatch(current, patch));
        await guardHookChange(c, db, tenantId, id, before, body);
        await replaceEnvironment(db, tenantId, id, body);
        return { result: id, audit: { action: 'environment.patch', resourceType: 'environment', resourceId: id, before, after: body } };
      },
      { unique: DUPLICATE },
    );
    await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId: id }, 'environment settings changed');
    return ok(c, await existing(c, tenantId, id));
  });

  router.openapi(routes.deleteEnvironmentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { id } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const env = await db.query('SELECT name FROM environments WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]);
      if (!env.rowCount) return undefined;
      // Promotions and deployments keep the environment's id (no foreign key: they are history), so they hold it here.
      const { rows } = await db.query(
        `SELECT (SELECT count(*)::int FROM targets WHERE tenant_id = $1 AND environment_id = $2) AS targets,
                (SELECT count(*)::int FROM approval_policies WHERE tenant_id = $1 AND environment_id = $2 AND deleted_at IS NULL) AS policies,
                (SELECT count(*)::int FROM promotions WHERE tenant_id = $1 AND target_environment_id = $2) AS promotions,
                (SELECT count(*)::int FROM release_deployments WHERE tenant_id = $1 AND environment_id = $2) AS deployments,
                (SELECT count(*)::int FROM agents WHERE tenant_id = $1 AND environment_id = $2) AS agents,
                (SELECT count(*)::int FROM pipelines WHERE tenant_id = $1 AND environment_ids @> ARRAY[$2::uuid]) AS pipelines`,
        [tenantId, id],
      );
      const refs = rows[0] as { targets: number; policies: number; promotions: number; deployments: number; agents: number; pipelines: number };
      if (refs.targets + refs.policies + refs.promotions + refs.deployments + refs.agents + refs.pipelines > 0) {
        throw new Conflict(
          `Environment ${env.rows[0].name} is still referred to by ${refs.targets} targets, ${refs.policies} policies, ${refs.promotions} promotions, ${refs.deployments} deployments, ${refs.agents} agents and ${refs.pipelines} pipelines`,
          'IN_USE',
          refs,
        );
      }
      // Retired policies (soft-deleted) still point at the environment; with no promotion to it, nothing needs their history.
      await db.query(
        `DELETE FROM approval_policy_versions WHERE tenant_id = $1 AND policy_id IN (SELECT id FROM approval_policies WHERE tenant_id = $1 AND environment_id = $2)`,
        [tenantId, id],
      );
      await db.query('DELETE FROM approval_policies WHERE tenant_id = $1 AND environment_id = $2', [tenantId, id]);
      await db.query('DELETE FROM environments WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return { result: id, audit: { action: 'environment.delete', resourceType: 'environment', resourceId: id, before: env.rows[0] } };
    }, { notFound: `Environment ${id} not found` });
    return c.body(null, 204);
  });

  router.openapi(routes.createFreezeWindowRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'environment:write');
    const { envId } = c.req.valid('param');
    const w = c.req.valid('json');
    // Each read expands a recurrence from its first occurrence, so that stays recent.
    if (w.rrule && w.start && Date.parse(w.start) < Date.now() - RECURRENCE_START_LIMIT_MS) {
      throw new ValidationFailed([{ field: 'start', code: 'out_of_range', message: 'the first occurrence of a recurring window may be at most a year ago' }]);
    }
    if (!w.rrule && w.end && Date.parse(w.end) > Date.now() + ONE_OFF_END_LIMIT_MS) {
      throw new ValidationFailed([{ field: 'end', code: 'out_of_range', message: 'a one-off window may end at most five years from now' }]);
    }
    const id = randomUUID();
    const row = await auditedWrite(
      c,
      async (db) => {
        // Held until commit, so the environment cannot be deleted under the new window.
        if (!(await db.query('SELECT 1 FROM environments WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, envId])).rowCount) return undefined;
        const inserted = await db.query<FreezeWindowRow>(
          `INSERT INTO freeze_windows (tenant_id, id, environment_id, name, reason, starts_at, ends_at, rrule, timezone, duration, exempt_release_classes, created_by)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING *`,
          [tenantId, id, envId, w.name, w.reason ?? null, w.start ?? null, w.end ?? null, w.rrule ?? null, w.timezone ?? null, w.duration ?? null, w.exemptReleaseClasses, userId],
        );
        return { result: inserted.rows[0], audit: { action: 'freeze_window.create', resourceType: 'environment', resourceId: envId, after: { id, ...w } } };
      },
      { notFound: `Environment ${envId} not found` },
    );
    c.header('Location', `${c.req.path}/${id}`);
    await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId: envId }, 'a freeze window was added');
    return ok(c, presentWindow(row), 201);
  });

  router.openapi(routes.listFreezeWindowsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { envId } = c.req.valid('param');
    const { pool } = c.get('deps');
    if (!(await pool.query('SELECT 1 FROM environments WHERE tenant_id = $1 AND id = $2', [tenantId, envId])).rowCount) throw new NotFound(`Environment ${envId} not found`);
    const { rows } = await pool.query<FreezeWindowRow>('SELECT * FROM freeze_windows WHERE tenant_id = $1 AND environment_id = $2 ORDER BY created_at, id', [tenantId, envId]);
    return ok(c, rows.map((r) => presentWindow(r)));
  });

  router.openapi(routes.deleteFreezeWindowRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'environment:write');
    const { envId, windowId } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const gone = await db.query('DELETE FROM freeze_windows WHERE tenant_id = $1 AND environment_id = $2 AND id = $3 RETURNING *', [tenantId, envId, windowId]);
      if (!gone.rowCount) return undefined;
      return { result: windowId, audit: { action: 'freeze_window.delete', resourceType: 'environment', resourceId: envId, before: gone.rows[0] } };
    }, { notFound: `Freeze window ${windowId} not found` });
    // A freeze lifted early must release a promotion it holds now, not at the window's old end.
    await notifyOpenPromotions(c.get('deps'), tenantId, { environmentId: envId }, 'a freeze window was removed');
    return c.body(null, 204);
  });

  return router;
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const env = await findEnvironment(c.get('deps').pool, tenantId, id);
  if (!env) throw new NotFound(`Environment ${id} not found`);
  return env;
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

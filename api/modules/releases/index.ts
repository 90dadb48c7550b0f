import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { compareVersions } from '../../../domain/promotions/version-order';
import type { AppEnv } from '../../context';
import { refuseWhileDeploying, requireHookWrite } from '../../deploy-hooks';
import { auditedWrite, iso } from '../../entity-writes';
import { Conflict, NotFound, Unprocessable, UnsupportedMediaType } from '../../errors';
import { listPage, type SortColumn } from '../../list-query';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { notifyOpenPromotions } from '../../../dispatch/promotion-signals';
import { COMPONENT_COLUMNS, findComponent, findRelease, presentComponent, presentRelease, RELEASE_COLUMNS, resolveComponents, type ReleaseRow } from './releases.queries';
import * as routes from './releases.routes';

const COMPONENT_SORTS: Record<(typeof routes.COMPONENT_SORTS)[number], SortColumn> = { name: { column: 'c.name', cast: 'text' }, created_at: { column: 'c.created_at', cast: 'timestamptz' } };
const RELEASE_SORTS: Record<(typeof routes.RELEASE_SORTS)[number], SortColumn> = { created_at: { column: 'created_at', cast: 'timestamptz' }, name: { column: 'name', cast: 'text' } };
const DUP_COMPONENT = { '*': 'A component with this name already exists' };
const DUP_RELEASE = { '*': 'A release with this name already exists' };

/** Components, their versions and releases: plain Postgres entities, audited, tenant-scoped. */
export function releasesRouter() {
  const router = createRouter();

  router.openapi(routes.listComponentsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const where = ['c.tenant_id = $1'];
    const params: unknown[] = [tenantId];
    if (query.name) {
      params.push(query.name);
      where.push(`lower(c.name) = lower($${params.length})`);
    }
    const sort = parseSort(query, Object.keys(COMPONENT_SORTS), { field: 'name', direction: 'asc' });
    const page = await listPage(c.get('deps').pool, { from: 'components c', select: COMPONENT_COLUMNS, where, params, sortColumns: COMPONENT_SORTS, idColumn: 'c.id::text' }, pageRequest(c.get('dialect'), query, sort), presentComponent);
    return okList(c, page);
  });

  router.openapi(routes.createComponentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const body = c.req.valid('json');
    requireHookWrite(c, null, body.deployHook, `component ${body.name}`);
    const id = randomUUID();
    await auditedWrite(
      c,
      async (db) => {
        await db.query('INSERT INTO components (tenant_id, id, name, repository, description, deploy_hook) VALUES ($1,$2,$3,$4,$5,$6)', [
          tenantId, id, body.name, body.repository ?? null, body.description ?? null, body.deployHook ?? null,
        ]);
        return { result: id, audit: { action: 'component.create', resourceType: 'component', resourceId: id, after: body } };
      },
      { unique: DUP_COMPONENT },
    );
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, await component(c, tenantId, id), 201);
  });

  router.openapi(routes.getComponentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    return ok(c, await component(c, tenantId, c.req.valid('param').id));
  });

  router.openapi(routes.updateComponentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const hookChanged = await auditedWrite(
      c,
      async (db) => {
        const before = (await db.query('SELECT name, repository, description, deploy_hook FROM components WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id])).rows[0];
        if (!before) return undefined;
        const changed = requireHookWrite(c, before.deploy_hook, body.deployHook ?? null, `component ${before.name}`);
        if (changed) await refuseWhileDeploying(db, tenantId, { componentId: id }, `component ${before.name}`);
        await db.query('UPDATE components SET name = $3, repository = $4, description = $5, deploy_hook = $6, updated_at = now() WHERE tenant_id = $1 AND id = $2', [
          tenantId, id, body.name, body.repository ?? null, body.description ?? null, body.deployHook ?? null,
        ]);
        return { result: changed, audit: { action: 'component.update', resourceType: 'component', resourceId: id, before, after: body } };
      },
      { unique: DUP_COMPONENT, notFound: `Component ${id} not found` },
    );
    // The hook is among what approvals are bound to: open promotions of releases built on the component look again.
    if (hookChanged) await notifyOpenPromotions(c.get('deps'), tenantId, { componentId: id }, 'a deploy hook changed');
    return ok(c, await component(c, tenantId, id));
  });

  router.openapi(routes.deleteComponentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const found = await db.query('SELECT name FROM components WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]);
      if (!found.rowCount) return undefined;
      const used = await db.query(`SELECT name FROM releases WHERE tenant_id = $1 AND components @> $2::jsonb LIMIT 3`, [tenantId, JSON.stringify([{ componentId: id }])]);
      if (used.rowCount) throw new Conflict(`Component ${found.rows[0].name} is used by releases ${used.rows.map((r) => r.name).join(', ')}`, 'IN_USE');
      await db.query('DELETE FROM components WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return { result: id, audit: { action: 'component.delete', resourceType: 'component', resourceId: id, before: found.rows[0] } };
    }, { notFound: `Component ${id} not found` });
    return c.body(null, 204);
  });

  router.openapi(routes.syncVersionsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    const { versions } = c.req.valid('json');
    const result = await auditedWrite(c, async (db) => {
      if (!(await db.query('SELECT 1 FROM components WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id])).rowCount) return undefined;
      // Listed twice, the last entry wins; ranked by precedence, so the highest version of one sync is its newest.
      const unique = [...new Map(versions.map((v) => [v.version, v.digest ?? null])).entries()].sort(([a], [b]) => compareVersions(a, b));
      // A version already recorded keeps its place in time; a new digest re-tags it, and a sync that gives none keeps the known one.
      const { rows } = await db.query<{ version: string; digest: string | null; existed: boolean; previous_digest: string | null }>(
        `WITH incoming AS (SELECT * FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS i(version, digest, rank)),
              previous AS (SELECT v.version, v.digest FROM component_versions v JOIN incoming i USING (version) WHERE v.tenant_id = $1 AND v.component_id = $2),
              upserted AS (
                INSERT INTO component_versions (tenant_id, component_id, version, digest, sync_rank)
                SELECT $1, $2, version, digest, rank FROM incoming
                ON CONFLICT (tenant_id, component_id, version) DO UPDATE SET digest = EXCLUDED.digest
                  WHERE EXCLUDED.digest IS NOT NULL AND component_versions.digest IS DISTINCT FROM EXCLUDED.digest
                RETURNING version, digest, sync_rank)
         SELECT u.version, u.digest, p.version IS NOT NULL AS existed, p.digest AS previous_digest FROM upserted u LEFT JOIN previous p USING (version) ORDER BY u.sync_rank`,
        [tenantId, id, unique.map(([v]) => v), unique.map(([, d]) => d)],
      );
      const redigested = [];
      for (const r of rows.filter((r) => r.existed)) {
        // A re-tagged version: every release built on it now carries the new digest, and its approvals must notice.
        const touched = await db.query<{ id: string }>(
          `UPDATE releases SET components = (
               SELECT jsonb_agg(CASE WHEN e->>'componentId' = $2 AND e->>'version' = $3 THEN jsonb_set(e, '{digest}', to_jsonb($4::text)) ELSE e END ORDER BY n)
                 FROM jsonb_array_elements(components) WITH ORDINALITY AS x(e, n)), updated_at = now()
            WHERE tenant_id = $1 AND components @> $5::jsonb RETURNING id`,
          [tenantId, id, r.version, r.digest, JSON.stringify([{ componentId: id, version: r.version }])],
        );
        redigested.push({ version: r.version, from: r.previous_digest, to: r.digest, releases: touched.rows.map((t) => t.id as string) });
      }
      const summary = { componentId: id, synced: unique.length, added: rows.filter((r) => !r.existed).map((r) => r.version as string), redigested };
      return { result: summary, audit: { action: 'component.sync_versions', resourceType: 'component', resourceId: id, after: summary } };
    }, { notFound: `Component ${id} not found` });
    for (const releaseId of new Set(result.redigested.flatMap((r) => r.releases))) await notifyOpenPromotions(c.get('deps'), tenantId, { releaseId }, 'a component digest changed');
    return ok(c, result);
  });

  router.openapi(routes.listVersionsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id } = c.req.valid('param');
    await component(c, tenantId, id);
    const { rows } = await c.get('deps').pool.query<{ component_id: string; version: string; digest: string | null; synced_at: Date }>(
      'SELECT component_id, version, digest, synced_at FROM component_versions WHERE tenant_id = $1 AND component_id = $2 ORDER BY synced_at DESC, sync_rank DESC LIMIT 1000',
      [tenantId, id],
    );
    return ok(c, rows.map((r) => ({ componentId: r.component_id, version: r.version, digest: r.digest, syncedAt: iso(r.synced_at)! })));
  });

  router.openapi(routes.listReleasesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    if (query.name) {
      params.push(query.name);
      where.push(`lower(name) = lower($${params.length})`);
    }
    const sort = parseSort(query, Object.keys(RELEASE_SORTS), { field: 'created_at', direction: 'desc' });
    const page = await listPage(c.get('deps').pool, { from: 'releases', select: RELEASE_COLUMNS, where, params, sortColumns: RELEASE_SORTS, idColumn: 'id::text' }, pageRequest(c.get('dialect'), query, sort), presentRelease);
    return okList(c, page);
  });

  router.openapi(routes.createReleaseRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'release:write');
    const body = c.req.valid('json');
    const release = await insertRelease(c, tenantId, userId, body, (db) => resolveComponents(db, tenantId, body.components));
    c.header('Location', `${c.req.path}/${release.id}`);
    return ok(c, release, 201);
  });

  router.openapi(routes.fromLatestRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'release:write');
    const body = c.req.valid('json');
    const release = await insertRelease(c, tenantId, userId, { ...body, description: null, securityScan: null }, async (db) => {
      const { rows } = await db.query(
        `SELECT c.id, c.name, latest.version FROM components c
           LEFT JOIN LATERAL (SELECT v.version FROM component_versions v WHERE v.tenant_id = c.tenant_id AND v.component_id = c.id ORDER BY v.synced_at DESC, v.sync_rank DESC LIMIT 1) latest ON true
          WHERE c.tenant_id = $1 AND ($2::uuid[] IS NULL OR c.id = ANY($2::uuid[])) ORDER BY c.name FOR SHARE OF c`,
        [tenantId, body.componentIds ?? null],
      );
      const missing = (body.componentIds ?? []).filter((id) => !rows.some((r) => r.id === id));
      if (missing.length) throw new Unprocessable(`Unknown components: ${missing.join(', ')}`, 'COMPONENT_NOT_FOUND', { componentIds: missing });
      const bare = rows.filter((r) => !r.version);
      if (rows.length === 0 || bare.length) {
        throw new Unprocessable(rows.length === 0 ? 'There are no components to release' : `No synced versions for ${bare.map((r) => r.name).join(', ')}`, 'NO_VERSIONS');
      }
      return resolveComponents(db, tenantId, rows.map((r) => ({ componentId: r.id, version: r.version })));
    });
    c.header('Location', `${c.req.path.replace(/\/from-latest$/, '')}/${release.id}`);
    return ok(c, release, 201);
  });

  router.openapi(routes.getReleaseRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    return ok(c, await release(c, tenantId, c.req.valid('param').id));
  });

  router.openapi(routes.updateReleaseRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    // Every field is optional, so a request without a JSON body would validate as {}; the body is required.
    if (!/^application\/([\w.-]+\+)?json\b/i.test(c.req.header('content-type') ?? '')) throw new UnsupportedMediaType();
    const body = c.req.valid('json');
    const moved = await auditedWrite(c, async (db) => {
      const before = (await db.query<ReleaseRow>(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id])).rows[0];
      if (!before) return undefined;
      const scanGiven = body.securityScan !== undefined;
      await db.query(
        `UPDATE releases SET description = CASE WHEN $3 THEN $4 ELSE description END, class = COALESCE($5, class),
                security_scan = CASE WHEN $6 THEN $7::jsonb ELSE security_scan END,
                scan_updated_at = CASE WHEN $6 THEN now() ELSE scan_updated_at END, updated_at = now()
          WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id, body.description !== undefined, body.description ?? null, body.class ?? null, scanGiven, scanGiven && body.securityScan ? JSON.stringify(body.securityScan) : null],
      );
      const scan = (s: { criticalCount: number; highCount: number } | null | undefined) => (s ? `${s.criticalCount}/${s.highCount}` : null);
      const gateMoved = (scanGiven && scan(body.securityScan) !== scan(before.security_scan)) || (body.class !== undefined && body.class !== before.class);
      return { result: gateMoved, audit: { action: 'release.update', resourceType: 'release', resourceId: id, before: presentRelease(before), after: body } };
    }, { notFound: `Release ${id} not found` });
    if (moved) await notifyOpenPromotions(c.get('deps'), tenantId, { releaseId: id }, 'the release’s security scan or class changed');
    return ok(c, await release(c, tenantId, id));
  });

  router.openapi(routes.deleteReleaseRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    await auditedWrite(c, async (db) => {
      const found = await db.query<ReleaseRow>(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
      if (!found.rowCount) return undefined;
      const used = await db.query(
        `SELECT (SELECT count(*) FROM promotions WHERE tenant_id = $1 AND release_id = $2)::int + (SELECT count(*) FROM release_deployments WHERE tenant_id = $1 AND release_id = $2)::int AS n`,
        [tenantId, id],
      );
      if (used.rows[0].n > 0) throw new Conflict(`Release ${found.rows[0].name} was promoted or deployed; deprecate it instead`, 'IN_USE');
      await db.query('DELETE FROM releases WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return { result: id, audit: { action: 'release.delete', resourceType: 'release', resourceId: id, before: presentRelease(found.rows[0]) } };
    }, { notFound: `Release ${id} not found` });
    return c.body(null, 204);
  });

  router.openapi(routes.releaseStateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id } = c.req.valid('param');
    await release(c, tenantId, id);
    const { pool } = c.get('deps');
    const [deployed, promoting] = await Promise.all([
      pool.query<{ environment_id: string; name: string; deployed_at: Date; promotion_id: string | null; current: boolean }>(
        `SELECT DISTINCT ON (d.environment_id) d.environment_id, e.name, d.deployed_at, d.promotion_id,
                d.deployed_at = (SELECT max(x.deployed_at) FROM release_deployments x WHERE x.tenant_id = d.tenant_id AND x.environment_id = d.environment_id AND x.status = 'deployed') AS current
           FROM release_deployments d JOIN environments e ON e.tenant_id = d.tenant_id AND e.id = d.environment_id
          WHERE d.tenant_id = $1 AND d.release_id = $2 AND d.status = 'deployed' ORDER BY d.environment_id, d.deployed_at DESC`,
        [tenantId, id],
      ),
      pool.query<{ id: string; target_environment_id: string; name: string; status: string }>(
        `SELECT p.id, p.target_environment_id, e.name, p.status FROM promotions p JOIN environments e ON e.tenant_id = p.tenant_id AND e.id = p.target_environment_id
          WHERE p.tenant_id = $1 AND p.release_id = $2 AND p.status IN ('pending', 'awaiting_approval', 'approved', 'deploying') ORDER BY p.requested_at`,
        [tenantId, id],
      ),
    ]);
    return ok(c, {
      releaseId: id,
      deployedTo: deployed.rows.map((r) => ({ environmentId: r.environment_id, environmentName: r.name, deployedAt: iso(r.deployed_at)!, promotionId: r.promotion_id, current: r.current })),
      promotingTo: promoting.rows.map((r) => ({ promotionId: r.id, environmentId: r.target_environment_id, environmentName: r.name, status: r.status })),
    });
  });

  router.openapi(routes.deprecateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    const body = (c.req.valid('json') ?? {}) as { reason?: string | null };
    await auditedWrite(c, async (db) => {
      const updated = await db.query(
        `UPDATE releases SET deprecated_at = COALESCE(deprecated_at, now()), deprecated_reason = COALESCE($3, deprecated_reason), updated_at = now()
          WHERE tenant_id = $1 AND id = $2 RETURNING id`,
        [tenantId, id, body.reason ?? null],
      );
      if (!updated.rowCount) return undefined;
      return { result: id, audit: { action: 'release.deprecate', resourceType: 'release', resourceId: id, after: { reason: body.reason ?? null } } };
    }, { notFound: `Release ${id} not found` });
    await notifyOpenPromotions(c.get('deps'), tenantId, { releaseId: id }, 'the release was deprecated');
    return ok(c, await release(c, tenantId, id));
  });

  router.openapi(routes.compareRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id, otherId } = c.req.valid('param');
    const [a, b] = await Promise.all([release(c, tenantId, id), release(c, tenantId, otherId)]);
    const byId = (r: typeof a) => new Map(r.components.map((x) => [x.componentId, x]));
    const [mine, theirs] = [byId(a), byId(b)];
    const differences = [];
    for (const componentId of new Set([...mine.keys(), ...theirs.keys()])) {
      const [x, y] = [mine.get(componentId), theirs.get(componentId)];
      const change: 'removed' | 'added' | 'version' | 'digest' | undefined = !y ? 'removed' : !x ? 'added' : x.version !== y.version ? 'version' : x.digest !== y.digest ? 'digest' : undefined;
      if (!change) continue;
      differences.push({ componentId, name: (x ?? y)!.name, change, version: x?.version ?? null, otherVersion: y?.version ?? null, digest: x?.digest ?? null, otherDigest: y?.digest ?? null });
    }
    return ok(c, { releaseId: id, otherId, identical: differences.length === 0, differences });
  });

  return router;
}

async function insertRelease(
  c: Context<AppEnv>,
  tenantId: string,
  userId: string,
  body: { name: string; version: string; class: string; description?: string | null; securityScan?: { criticalCount: number; highCount: number } | null },
  components: (db: import('../../../platform/db').PoolClient) => Promise<unknown[]>,
) {
  const id = randomUUID();
  await auditedWrite(
    c,
    async (db) => {
      const resolved = await components(db);
      await db.query(
        `INSERT INTO releases (tenant_id, id, name, version, class, description, components, security_scan, scan_updated_at, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8, CASE WHEN $8::jsonb IS NULL THEN NULL ELSE now() END, $9)`,
        [tenantId, id, body.name, body.version, body.class, body.description ?? null, JSON.stringify(resolved), body.securityScan ? JSON.stringify(body.securityScan) : null, userId],
      );
      return { result: id, audit: { action: 'release.create', resourceType: 'release', resourceId: id, after: { ...body, components: resolved } } };
    },
    { unique: DUP_RELEASE },
  );
  return release(c, tenantId, id);
}

async function component(c: Context<AppEnv>, tenantId: string, id: string) {
  const found = await findComponent(c.get('deps').pool, tenantId, id);
  if (!found) throw new NotFound(`Component ${id} not found`);
  return found;
}

async function release(c: Context<AppEnv>, tenantId: string, id: string) {
  const found = await findRelease(c.get('deps').pool, tenantId, id);
  if (!found) throw new NotFound(`Release ${id} not found`);
  return found;
}

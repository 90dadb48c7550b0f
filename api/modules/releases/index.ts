import type { Context } from 'hono';
import { registryVersions } from '../integrations';
import { releaseDifferences } from '../../../domain/promotions/release-diff';
import type { AppEnv } from '../../context';
import { NotFound, UnsupportedMediaType } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { createComponent, deleteComponent, syncComponentVersions, updateComponent } from './releases.component-writes';
import { findComponent, findRelease, listComponents, listComponentVersions, listReleases, releaseState } from './releases.queries';
import * as routes from './releases.routes';
import { createRelease, createReleaseFromLatest, deleteRelease, deprecateRelease, updateRelease } from './releases.writes';

/**
 * Components, their versions and releases: plain Postgres entities, audited,
 * tenant-scoped. Reads come from releases.queries.ts, writes from
 * releases.component-writes.ts and releases.writes.ts.
 */
export function releasesRouter() {
  const router = createRouter();

  router.openapi(routes.listComponentsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.COMPONENT_SORTS, { field: 'name', direction: 'asc' });
    return okList(c, await listComponents(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createComponentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const id = await createComponent(c, tenantId, c.req.valid('json'));
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
    await updateComponent(c, tenantId, id, c.req.valid('json'));
    return ok(c, await component(c, tenantId, id));
  });

  router.openapi(routes.deleteComponentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    await deleteComponent(c, tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(routes.syncVersionsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    // Pulled from a registry only for a component that exists: a 404 costs no registry call.
    if (body.fromRegistry) await component(c, tenantId, id);
    const versions = body.versions ?? (await registryVersions(c, tenantId, body.fromRegistry!));
    return ok(c, await syncComponentVersions(c, tenantId, id, { versions }));
  });

  router.openapi(routes.listVersionsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id } = c.req.valid('param');
    await component(c, tenantId, id);
    return ok(c, await listComponentVersions(c.get('deps').pool, tenantId, id));
  });

  router.openapi(routes.listReleasesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.RELEASE_SORTS, { field: 'created_at', direction: 'desc' });
    return okList(c, await listReleases(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createReleaseRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'release:write');
    const id = await createRelease(c, tenantId, userId, c.req.valid('json'));
    c.header('Location', `${c.req.path}/${id}`);
    return ok(c, await release(c, tenantId, id), 201);
  });

  router.openapi(routes.fromLatestRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'release:write');
    const id = await createReleaseFromLatest(c, tenantId, userId, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/from-latest$/, '')}/${id}`);
    return ok(c, await release(c, tenantId, id), 201);
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
    await updateRelease(c, tenantId, id, c.req.valid('json'));
    return ok(c, await release(c, tenantId, id));
  });

  router.openapi(routes.deleteReleaseRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    await deleteRelease(c, tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(routes.releaseStateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id } = c.req.valid('param');
    await release(c, tenantId, id);
    return ok(c, await releaseState(c.get('deps').pool, tenantId, id));
  });

  router.openapi(routes.deprecateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'release:write');
    const { id } = c.req.valid('param');
    await deprecateRelease(c, tenantId, id, c.req.valid('json') ?? {});
    return ok(c, await release(c, tenantId, id));
  });

  router.openapi(routes.compareRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'inventory:read');
    const { id, otherId } = c.req.valid('param');
    const [a, b] = await Promise.all([release(c, tenantId, id), release(c, tenantId, otherId)]);
    const differences = releaseDifferences(a.components, b.components);
    return ok(c, { releaseId: id, otherId, identical: differences.length === 0, differences });
  });

  return router;
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

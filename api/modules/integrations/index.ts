import type { Context } from 'hono';
import { z } from 'zod';
import { integrationType, INTEGRATION_TYPE_IDS, INTEGRATION_TYPES, type IntegrationTypeDefinition } from '../../../domain/integrations/types';
import { findIntegration, presentIntegrationRow } from '../../../store/integrations';
import type { AppEnv } from '../../context';
import { NotFound, Unprocessable } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { runCall } from './integrations.calls';
import { listIntegrations } from './integrations.queries';
import * as routes from './integrations.routes';
import { createIntegration, deleteIntegration, replaceIntegration } from './integrations.writes';

export { checkedConfig, checkedEvents } from './integrations.config';
export { runCall } from './integrations.calls';
export { CallResultSchema, SecretsShownSchema } from './integrations.responses';

/**
 * Integrations: rows the API owns (audited, tenant-scoped, secrets sealed),
 * their types' schemas, and calls to them — test, discover — that run as
 * activities on the worker; health comes from each one's Temporal Schedule.
 */
export function integrationsRouter() {
  const router = createRouter();

  router.openapi(routes.listTypesRoute, async (c) => {
    requirePermission(c, 'integration:read');
    return ok(c, INTEGRATION_TYPE_IDS.map((id) => published(INTEGRATION_TYPES[id])));
  });

  router.openapi(routes.getTypeRoute, async (c) => {
    requirePermission(c, 'integration:read');
    const { typeId } = c.req.valid('param');
    const type = integrationType(typeId);
    if (!type) throw new NotFound(`No integration type "${typeId}"; known types: ${INTEGRATION_TYPE_IDS.join(', ')}`);
    return ok(c, published(type));
  });

  router.openapi(routes.listRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.INTEGRATION_SORTS, { field: 'created_at', direction: 'desc' });
    return okList(c, await listIntegrations(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createRoute_, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'integration:write');
    const created = await createIntegration(c, tenantId, userId, c.req.valid('json'));
    c.header('Location', `${c.req.path}/${created.id}`);
    return ok(c, created, 201);
  });

  router.openapi(routes.getRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:read');
    return ok(c, presentIntegrationRow(await integration(c, tenantId, c.req.valid('param').id)));
  });

  router.openapi(routes.updateRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:write');
    return ok(c, await replaceIntegration(c, tenantId, c.req.valid('param').id, c.req.valid('json')));
  });

  router.openapi(routes.deleteRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:write');
    await deleteIntegration(c, tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });

  router.openapi(routes.testRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:write');
    const row = await integration(c, tenantId, c.req.valid('param').id);
    return ok(c, await runCall(c, { tenantId, target: { source: 'integration', id: row.id }, operation: 'test' }, `Test of integration ${row.name}`));
  });

  router.openapi(routes.discoverRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:write');
    const row = await integration(c, tenantId, c.req.valid('param').id);
    if (!integrationType(row.type_id)?.discovers) throw new Unprocessable(`A ${row.type_id} integration has nothing to discover`, 'DISCOVER_UNSUPPORTED', { typeId: row.type_id });
    return ok(c, await runCall(c, { tenantId, target: { source: 'integration', id: row.id }, operation: 'discover' }, `Discovery on integration ${row.name}`));
  });

  router.openapi(routes.healthRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'integration:read');
    const row = await integration(c, tenantId, c.req.valid('param').id);
    const health = row.health;
    return ok(c, {
      integrationId: row.id,
      status: health ? (health.ok ? ('healthy' as const) : ('unhealthy' as const)) : ('unknown' as const),
      reason: health?.reason ?? null,
      checkedAt: row.health_checked_at ? new Date(row.health_checked_at).toISOString() : null,
      intervalSeconds: Math.round(c.get('deps').config.INTEGRATION_HEALTH_INTERVAL / 1000),
    });
  });

  return router;
}

async function integration(c: Context<AppEnv>, tenantId: string, id: string) {
  const found = await findIntegration(c.get('deps').pool, tenantId, id);
  if (!found) throw new NotFound(`Integration ${id} not found`);
  return found;
}

const publishedTypes = new Map<string, ReturnType<typeof publish>>();
function published(type: IntegrationTypeDefinition) {
  let found = publishedTypes.get(type.id);
  if (!found) publishedTypes.set(type.id, (found = publish(type)));
  return found;
}

/** A type as GET /integration-types shows it: its config as JSON Schema (what a body may hold, before defaults). */
function publish(type: IntegrationTypeDefinition) {
  return {
    id: type.id,
    kind: type.kind,
    name: type.name,
    description: type.description,
    configSchema: z.toJSONSchema(type.config, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
    secretFields: [...type.secretFields],
    discovers: type.discovers,
  };
}
export { registryVersions } from './integrations.registry-sync';

import type { Context } from 'hono';
import { z } from 'zod';
import { findPlugin, pluginsOf, type LoadedPlugin } from '../../../store/plugins-loader';
import { pluginStates, presentPluginHealth, setPluginEnabled, type PluginStateRow } from '../../../store/plugins';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { NotFound, Unprocessable } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { runCall } from '../integrations';
import { listPluginInstances } from './plugins.queries';
import * as routes from './plugins.routes';
import { createPluginInstance, deletePluginInstance, replacePluginInstance } from './plugins.writes';

/**
 * Plugins: the packages TOLLGATE_PLUGINS names, loaded once per process (API
 * and worker); per tenant, whether each is enabled and how its last call went;
 * and its configured instances. Health runs the plugin's own check on the
 * worker, bounded, so a plugin that hangs answers "timed out" here.
 */
export function pluginsRouter() {
  const router = createRouter();

  router.openapi(routes.listPluginsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:read');
    const { config, pool } = c.get('deps');
    const states = await pluginStates(pool, tenantId);
    return ok(c, (await pluginsOf(config.TOLLGATE_PLUGINS, config.PLUGIN_CALL_TIMEOUT)).map((p) => presentPlugin(p, states.get(p.id))));
  });

  router.openapi(routes.getPluginRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:read');
    const entry = await plugin(c, c.req.valid('param').id);
    return ok(c, presentPlugin(entry, (await pluginStates(c.get('deps').pool, tenantId)).get(entry.id)));
  });

  router.openapi(routes.enablePluginRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:write');
    const entry = await plugin(c, c.req.valid('param').id);
    if (!entry.plugin) throw new Unprocessable(`Plugin ${entry.id} did not load: ${entry.loadError}`, 'PLUGIN_NOT_LOADED', { pluginId: entry.id });
    return ok(c, await setEnabled(c, tenantId, entry, true));
  });

  router.openapi(routes.disablePluginRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:write');
    return ok(c, await setEnabled(c, tenantId, await plugin(c, c.req.valid('param').id), false));
  });

  router.openapi(routes.pluginHealthRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:read');
    const entry = await plugin(c, c.req.valid('param').id);
    const now = new Date().toISOString();
    if (!entry.plugin) return ok(c, { pluginId: entry.id, status: 'not-loaded' as const, reason: entry.loadError, durationMs: 0, checkedAt: now });
    if ((await pluginStates(c.get('deps').pool, tenantId)).get(entry.id)?.enabled === false) {
      return ok(c, { pluginId: entry.id, status: 'disabled' as const, reason: 'disabled for this tenant', durationMs: 0, checkedAt: now });
    }
    const result = await runCall(c, { tenantId, target: { source: 'plugin', pluginId: entry.id }, operation: 'health' }, `Health check of plugin ${entry.id}`);
    return ok(c, { pluginId: entry.id, status: result.ok ? ('healthy' as const) : ('unhealthy' as const), reason: result.reason, durationMs: result.durationMs, checkedAt: result.checkedAt });
  });

  router.openapi(routes.createInstanceRoute, async (c) => {
    const { tenantId, userId } = requirePermission(c, 'plugin:write');
    const created = await createPluginInstance(c, tenantId, userId, c.req.valid('json'));
    c.header('Location', `${c.req.path}/${created.id}`);
    return ok(c, created, 201);
  });

  router.openapi(routes.listInstancesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.INSTANCE_SORTS, { field: 'created_at', direction: 'desc' });
    return okList(c, await listPluginInstances(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.updateInstanceRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:write');
    return ok(c, await replacePluginInstance(c, tenantId, c.req.valid('param').id, c.req.valid('json')));
  });

  router.openapi(routes.deleteInstanceRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'plugin:write');
    await deletePluginInstance(c, tenantId, c.req.valid('param').id);
    return c.body(null, 204);
  });

  return router;
}

async function plugin(c: Context<AppEnv>, id: string): Promise<LoadedPlugin> {
  const { config } = c.get('deps');
  const entry = await findPlugin(config.TOLLGATE_PLUGINS, config.PLUGIN_CALL_TIMEOUT, id);
  if (!entry) throw new NotFound(`No plugin "${id}" is loaded (TOLLGATE_PLUGINS)`);
  return entry;
}

async function setEnabled(c: Context<AppEnv>, tenantId: string, entry: LoadedPlugin, enabled: boolean) {
  await auditedWrite(c, async (db) => {
    await setPluginEnabled(db, tenantId, entry.id, enabled);
    return { result: entry.id, audit: { action: enabled ? 'plugin.enable' : 'plugin.disable', resourceType: 'plugin', resourceId: entry.id, after: { enabled } } };
  });
  return presentPlugin(entry, (await pluginStates(c.get('deps').pool, tenantId)).get(entry.id));
}

function presentPlugin(entry: LoadedPlugin, state: PluginStateRow | undefined) {
  const p = entry.plugin;
  const health = presentPluginHealth(state) as { ok: boolean; reason: string | null; operation?: string; durationMs?: number; checkedAt: string | null } | null;
  return {
    id: entry.id,
    source: entry.source,
    name: p?.name ?? null,
    version: p?.version ?? null,
    description: p?.description ?? null,
    implements: p?.implements ?? [],
    configSchema: entry.config ? (z.toJSONSchema(entry.config, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>) : null,
    secretFields: p?.secretFields ?? [],
    loaded: !!p,
    loadError: entry.loadError,
    enabled: state?.enabled ?? true,
    lastCall: health,
  };
}

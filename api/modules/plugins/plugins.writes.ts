import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { pluginInstanceSchema, pluginInstanceUpdateSchema } from '../../../domain/integrations/requests';
import { integrationSecretKeys } from '../../../store/integrations-secrets';
import { policiesNamingPluginInstance } from '../../../store/policy-http-gates';
import { findPlugin, type LoadedPlugin } from '../../../store/plugins-loader';
import {
  deletePluginInstanceRow,
  findPluginInstance,
  insertPluginInstance,
  pluginInstanceSecrets,
  pluginStates,
  presentPluginInstanceRow,
  updatePluginInstance,
} from '../../../store/plugins';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { checkedConfig, checkedEvents } from '../integrations';
import type { PluginModule } from '../../../domain/integrations/plugin-manifest';

/** The API's writes of plugin instances, audited; configs judged by the plugin's own schema, secrets sealed as integrations' are. */

type C = Context<AppEnv>;
const DUPLICATE = { '*': 'A plugin instance with this name already exists' };

export async function loadedPlugin(c: C, id: string): Promise<LoadedPlugin | undefined> {
  const { config } = c.get('deps');
  return findPlugin(config.TOLLGATE_PLUGINS, config.PLUGIN_CALL_TIMEOUT, id);
}

/** A plugin an instance may be written for: loaded, and enabled for the tenant. */
async function usablePlugin(c: C, tenantId: string, pluginId: string, unknownCode: string) {
  const entry = await loadedPlugin(c, pluginId);
  if (!entry) throw new Unprocessable(`No plugin "${pluginId}" is loaded (TOLLGATE_PLUGINS)`, unknownCode, { pluginId });
  if (!entry.plugin || !entry.config) throw new Unprocessable(`Plugin ${pluginId} did not load: ${entry.loadError}`, 'PLUGIN_NOT_LOADED', { pluginId });
  if ((await pluginStates(c.get('deps').pool, tenantId)).get(pluginId)?.enabled === false) throw new Unprocessable(`Plugin ${pluginId} is disabled; enable it first`, 'PLUGIN_DISABLED', { pluginId });
  return { plugin: entry.plugin, schema: entry.config };
}

/** Events are judged as a notifier integration's: only a notifier plugin's instance takes them (422 `INVALID_EVENTS` otherwise). */
const instanceEvents = (plugin: PluginModule, events: readonly string[] | undefined) => checkedEvents(plugin.implements.includes('notifier') ? 'notifier' : plugin.implements[0], events);

export async function createPluginInstance(c: C, tenantId: string, userId: string, body: z.infer<typeof pluginInstanceSchema>) {
  const { plugin, schema } = await usablePlugin(c, tenantId, body.pluginId, 'UNKNOWN_PLUGIN');
  const split = checkedConfig(schema, plugin.secretFields ?? [], body.config);
  const events = instanceEvents(plugin, body.events);
  const keys = integrationSecretKeys(c.get('deps').config);
  const id = randomUUID();
  const row = await auditedWrite(
    c,
    async (db) => {
      const inserted = await insertPluginInstance(db, keys, tenantId, id, { pluginId: plugin.id, name: body.name, ...split, events }, userId);
      return { result: inserted, audit: { action: 'plugin_instance.create', resourceType: 'plugin_instance', resourceId: id, after: presentPluginInstanceRow(inserted) } };
    },
    { unique: DUPLICATE },
  );
  return presentPluginInstanceRow(row, plugin.secretFields ?? []);
}

export async function replacePluginInstance(c: C, tenantId: string, id: string, body: z.infer<typeof pluginInstanceUpdateSchema>) {
  const { pool, config } = c.get('deps');
  const current = await findPluginInstance(pool, tenantId, id);
  if (!current) throw new NotFound(`Plugin instance ${id} not found`);
  const { plugin, schema } = await usablePlugin(c, tenantId, current.plugin_id, 'PLUGIN_NOT_LOADED');
  const keys = integrationSecretKeys(config);
  const split = checkedConfig(schema, plugin.secretFields ?? [], body.config, await pluginInstanceSecrets(pool, keys, tenantId, id));
  const events = instanceEvents(plugin, body.events);
  const row = await auditedWrite(
    c,
    async (db) => {
      const before = await findPluginInstance(db, tenantId, id, true);
      if (!before) return undefined;
      const after = await updatePluginInstance(db, keys, tenantId, id, { pluginId: before.plugin_id, name: body.name, ...split, events });
      return { result: after, audit: { action: 'plugin_instance.update', resourceType: 'plugin_instance', resourceId: id, before: presentPluginInstanceRow(before), after: presentPluginInstanceRow(after) } };
    },
    { unique: DUPLICATE, notFound: `Plugin instance ${id} not found` },
  );
  return presentPluginInstanceRow(row, plugin.secretFields ?? []);
}

export async function deletePluginInstance(c: C, tenantId: string, id: string): Promise<void> {
  await auditedWrite(
    c,
    async (db) => {
      // Under the row's lock: a policy saved meanwhile (it locks the row to name it) is seen here.
      if (!(await findPluginInstance(db, tenantId, id, true))) return undefined;
      const policies = await policiesNamingPluginInstance(db, tenantId, id);
      if (policies.length) {
        throw new Conflict(
          `Plugin instance ${id} is an http gate of approval ${policies.length === 1 ? 'policy' : 'policies'} ${policies.map((p) => p.name).join(', ')}; remove it from their httpGates first`,
          'PLUGIN_INSTANCE_IN_USE',
          { policies },
        );
      }
      const before = await deletePluginInstanceRow(db, tenantId, id);
      if (!before) return undefined;
      return { result: id, audit: { action: 'plugin_instance.delete', resourceType: 'plugin_instance', resourceId: id, before: presentPluginInstanceRow(before) } };
    },
    { notFound: `Plugin instance ${id} not found` },
  );
}

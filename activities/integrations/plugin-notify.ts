import { joinConfig } from '../../domain/integrations/config';
import type { Notification } from '../../domain/integrations/notifications';
import { storableCopy } from '../../domain/text';
import { integrationSecretKeys } from '../../store/integrations-secrets';
import { callPlugin, findPlugin } from '../../store/plugins-loader';
import { findPluginInstance, pluginInstanceSecrets, pluginStates, recordPluginHealth } from '../../store/plugins';
import type { ActivityDeps } from '../deps';

/**
 * One notification delivered by a plugin instance, from inside an activity:
 * the instance's config and secrets are read here (never in a history), the
 * plugin is called through the host's bounded call (PLUGIN_CALL_TIMEOUT, its
 * throw caught) and the outcome is recorded as the plugin's health, as every
 * other plugin call's is. Anything that stops the delivery is an answer with
 * a code, never a throw, so a bad plugin cannot take the worker down.
 */

export type PluginNotifyFailure = 'PLUGIN_INSTANCE_NOT_FOUND' | 'PLUGIN_NOT_LOADED' | 'PLUGIN_DISABLED' | 'NOT_A_NOTIFIER' | 'PLUGIN_TIMEOUT' | 'NOTIFY_FAILED';

export type PluginNotifyOutcome =
  | { ok: true; pluginId: string; instance: string; details: Record<string, unknown>; durationMs: number }
  | { ok: false; code: PluginNotifyFailure; reason: string; pluginId?: string };

export async function notifyThroughPlugin(deps: ActivityDeps, tenantId: string, instanceId: string, notification: Notification): Promise<PluginNotifyOutcome> {
  const instance = await findPluginInstance(deps.pool, tenantId, instanceId);
  if (!instance) return { ok: false, code: 'PLUGIN_INSTANCE_NOT_FOUND', reason: `Plugin instance ${instanceId} not found` };
  const pluginId = instance.plugin_id;
  const timeoutMs = deps.config.PLUGIN_CALL_TIMEOUT;
  const entry = await findPlugin(deps.config.TOLLGATE_PLUGINS, timeoutMs, pluginId);
  if (!entry?.plugin) return { ok: false, code: 'PLUGIN_NOT_LOADED', pluginId, reason: `Plugin ${pluginId} is not loaded by this worker${entry?.loadError ? `: ${entry.loadError}` : ' (TOLLGATE_PLUGINS)'}` };
  if ((await pluginStates(deps.pool, tenantId)).get(pluginId)?.enabled === false) return { ok: false, code: 'PLUGIN_DISABLED', pluginId, reason: `Plugin ${pluginId} is disabled` };
  if (!entry.plugin.implements.includes('notifier') || typeof entry.plugin.notify !== 'function') {
    return { ok: false, code: 'NOT_A_NOTIFIER', pluginId, reason: `Plugin ${pluginId} implements ${entry.plugin.implements.join(', ')}: it does not deliver notifications` };
  }
  const config = joinConfig({ config: instance.config, secrets: await pluginInstanceSecrets(deps.pool, integrationSecretKeys(deps.config), tenantId, instanceId) });
  const started = Date.now();
  const said = await callPlugin(entry, 'notify', timeoutMs, config, notification);
  const durationMs = Date.now() - started;
  const reason = said.ok ? null : storableCopy(said.reason);
  await recordPluginHealth(deps.pool, tenantId, pluginId, { ok: said.ok, reason, operation: 'notify', durationMs }, new Date().toISOString());
  if (said.ok) return { ok: true, pluginId, instance: instance.name, details: storableCopy(said.details), durationMs };
  return { ok: false, code: said.timedOut ? 'PLUGIN_TIMEOUT' : 'NOTIFY_FAILED', pluginId, reason: `Plugin ${pluginId} (${instance.name}): ${reason}` };
}

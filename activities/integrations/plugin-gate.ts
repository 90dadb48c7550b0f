import { joinConfig } from '../../domain/integrations/config';
import type { PluginGateContext } from '../../domain/integrations/plugin-manifest';
import type { HttpGateCheck } from '../../domain/promotions/gates-http';
import { storableCopy } from '../../domain/text';
import type { Pool } from '../../platform/db';
import type { SecretKey } from '../../store/integrations-secrets';
import { callPlugin, findPlugin } from '../../store/plugins-loader';
import { findPluginInstance, pluginInstanceSecrets, pluginStates, recordPluginHealth } from '../../store/plugins';
import { GATE_CALL_MAX_MS } from './http-gate-call';

/**
 * One http gate that names a plugin instance: the instance's config and
 * secrets are read here, the plugin's `check` is called through the host's
 * bounded call (PLUGIN_CALL_TIMEOUT, never past what the gate inputs'
 * activity allows) with only non-secret facts about the promotion, and the
 * outcome is recorded as the plugin's last call. Never throws: a missing
 * instance, a plugin not loaded, disabled or no gate, a throw or a hang is a
 * failed check with its reason.
 */

export interface PluginGateDeps {
  pool: Pool;
  config: { TOLLGATE_PLUGINS: string; PLUGIN_CALL_TIMEOUT: number };
}

type Found = Pick<HttpGateCheck, 'pluginId' | 'integrationName' | 'passed' | 'status' | 'reason'> & { details?: Record<string, unknown> };

export async function checkPluginGate(deps: PluginGateDeps, keys: SecretKey[], tenantId: string, instanceId: string, context: PluginGateContext): Promise<Found> {
  const failed = (reason: string, pluginId: string | null = null, integrationName: string | null = null): Found => ({ pluginId, integrationName, passed: false, status: null, reason });
  let instance;
  try {
    instance = await findPluginInstance(deps.pool, tenantId, instanceId);
  } catch (err) {
    return failed(`plugin instance ${instanceId} could not be read: ${(err as Error).message}`);
  }
  if (!instance) return failed(`plugin instance ${instanceId} no longer exists; name another http gate in the policy`);
  const pluginId = instance.plugin_id;
  const timeoutMs = Math.min(deps.config.PLUGIN_CALL_TIMEOUT, GATE_CALL_MAX_MS);
  const entry = await findPlugin(deps.config.TOLLGATE_PLUGINS, timeoutMs, pluginId);
  if (!entry?.plugin) return failed(`plugin ${pluginId} is not loaded${entry?.loadError ? `: ${entry.loadError}` : ' (TOLLGATE_PLUGINS)'}`, pluginId, instance.name);
  if ((await pluginStates(deps.pool, tenantId)).get(pluginId)?.enabled === false) return failed(`plugin ${pluginId} is disabled`, pluginId, instance.name);
  if (!entry.plugin.implements.includes('http-gate')) return failed(`plugin ${pluginId} implements ${entry.plugin.implements.join(', ')}, not http-gate`, pluginId, instance.name);
  const config = joinConfig({ config: instance.config, secrets: await pluginInstanceSecrets(deps.pool, keys, tenantId, instanceId) });
  const started = Date.now();
  const said = await callPlugin(entry, 'check', timeoutMs, config, context);
  const reason = said.ok ? null : storableCopy(said.reason);
  await recordPluginHealth(deps.pool, tenantId, pluginId, { ok: said.ok, reason, operation: 'check', durationMs: Date.now() - started }, new Date().toISOString());
  const status = typeof said.details.status === 'number' && Number.isInteger(said.details.status) ? said.details.status : null;
  return { pluginId, integrationName: instance.name, passed: said.ok, status, reason, details: boundedDetails(said.details) };
}

/** A gate's check is kept in the promotion's inputs (a workflow history): a plugin's details are kept only while small. */
const DETAILS_MAX_CHARS = 2_000;
function boundedDetails(details: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(details);
  return json.length <= DETAILS_MAX_CHARS ? storableCopy(details) : { truncated: true, chars: json.length };
}

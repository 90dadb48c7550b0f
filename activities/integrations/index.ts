import { CallFailed, reasonOf } from './http';
import { joinConfig } from '../../domain/integrations/config';
import { storableCopy } from '../../domain/text';
import type { IntegrationCallInput, IntegrationCallResult } from '../../domain/integrations/calls';
import { integrationSecretKeys } from '../../store/integrations-secrets';
import { integrationWithSecrets, recordIntegrationHealth } from '../../store/integrations';
import { callPlugin, findPlugin } from '../../store/plugins-loader';
import { findPluginInstance, pluginInstanceSecrets, pluginStates, recordPluginHealth } from '../../store/plugins';
import type { ActivityDeps } from '../deps';
import { runtimeOf } from './runtimes';

/**
 * The one activity every integration and plugin call runs in (started by the
 * integrationCall workflow: from a request, or from an integration's health
 * Schedule). It reads the row as it is now and opens its secrets here, so they
 * never enter a history; it never throws for the integration's own failure —
 * that is the answer (`ok: false` with the reason), recorded on the row when
 * it is a health check.
 */
export function integrationActivities(deps: ActivityDeps) {
  const keys = () => integrationSecretKeys(deps.config);

  async function integrationCall(input: IntegrationCallInput & { target: { source: 'integration' } }): Promise<IntegrationCallResult> {
    const started = Date.now();
    const row = await integrationWithSecrets(deps.pool, keys(), input.tenantId, input.target.id);
    if (!row) return answer(started, false, `integration ${input.target.id} no longer exists`);
    const run = runtimeOf(row.type_id, input.operation);
    if (!run) return answer(started, false, `a ${row.type_id} integration has nothing to ${input.operation}`);
    let result: IntegrationCallResult;
    try {
      result = answer(started, true, null, await run(joinConfig({ config: row.config, secrets: row.secrets }), input.args ?? {}));
    } catch (err) {
      result = answer(started, false, err instanceof CallFailed ? err.message : reasonOf(err, Number(row.config.timeoutMs ?? 0)));
    }
    if (input.record) await recordIntegrationHealth(deps.pool, input.tenantId, row.id, { ok: result.ok, reason: result.reason, details: result.details, durationMs: result.durationMs }, result.checkedAt);
    return result;
  }

  async function pluginCall(input: IntegrationCallInput & { target: { source: 'plugin' } }): Promise<IntegrationCallResult> {
    const started = Date.now();
    const { pluginId, instanceId } = input.target;
    const timeoutMs = deps.config.PLUGIN_CALL_TIMEOUT;
    const entry = await findPlugin(deps.config.TOLLGATE_PLUGINS, timeoutMs, pluginId);
    if (!entry) return answer(started, false, `plugin ${pluginId} is not loaded by this worker (TOLLGATE_PLUGINS)`);
    if ((await pluginStates(deps.pool, input.tenantId)).get(pluginId)?.enabled === false) return answer(started, false, `plugin ${pluginId} is disabled`);
    let args: unknown[] = [];
    if (instanceId) {
      const instance = await findPluginInstance(deps.pool, input.tenantId, instanceId);
      if (!instance) return answer(started, false, `plugin instance ${instanceId} no longer exists`);
      args = [joinConfig({ config: instance.config, secrets: await pluginInstanceSecrets(deps.pool, keys(), input.tenantId, instanceId) })];
      if (input.operation === 'notify') args.push(input.args?.notification);
    }
    const op = input.operation === 'tags' ? 'discover' : input.operation;
    const said = await callPlugin(entry, op, timeoutMs, ...args);
    const result = answer(started, said.ok, said.ok ? null : said.reason, said.details);
    // Every call's outcome is the plugin's health: one that throws or hangs shows it here.
    await recordPluginHealth(deps.pool, input.tenantId, pluginId, { ok: result.ok, reason: result.reason, operation: input.operation, durationMs: result.durationMs }, result.checkedAt);
    return result;
  }

  return {
    async runIntegrationCall(input: IntegrationCallInput): Promise<IntegrationCallResult> {
      const { target } = input;
      return target.source === 'integration' ? integrationCall({ ...input, target }) : pluginCall({ ...input, target });
    },
  };
}

/** The reason and details quote what the remote service answered: made storable (NUL, lone surrogates → U+FFFD) before they are recorded. */
function answer(started: number, ok: boolean, reason: string | null, details: Record<string, unknown> = {}): IntegrationCallResult {
  return { ok, reason: storableCopy(reason), details: storableCopy(details), durationMs: Date.now() - started, checkedAt: new Date().toISOString() };
}

export type IntegrationActivities = ReturnType<typeof integrationActivities>;

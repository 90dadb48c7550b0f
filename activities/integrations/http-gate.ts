import { joinConfig } from '../../domain/integrations/config';
import { integrationType } from '../../domain/integrations/types';
import type { HttpGate, HttpGateCheck } from '../../domain/promotions/gates-http';
import { storableCopy } from '../../domain/text';
import type { Pool } from '../../platform/db';
import type { HttpGateChecker } from '../../store/gate-inputs';
import { integrationWithSecrets } from '../../store/integrations';
import { integrationSecretKeys } from '../../store/integrations-secrets';
import { CallFailed, reasonOf } from './http';
import { GATE_CALL_MAX_MS, GateRefused } from './http-gate-call';
import { checkPluginGate, type PluginGateDeps } from './plugin-gate';
import { runtimeOf } from './runtimes';

/**
 * A policy's http gates, called where the gate inputs are gathered: the
 * promotion workflow's input activity and the API's preview and request. Each
 * integration is read as it is now with its secrets opened here (a plugin
 * instance's in plugin-gate.ts), the gates are called in parallel (each
 * bounded by its integration's timeout, or PLUGIN_CALL_TIMEOUT), and only what
 * each found goes back: the bearer token never leaves this function, so it
 * never enters a workflow's history or an API answer. A gate never throws: an
 * integration that is gone, of another kind, unreachable or answering
 * otherwise is a failed check with the reason.
 */
export function httpGateChecker(deps: PluginGateDeps & { config: { TOLLGATE_INTEGRATION_KEYS?: string; DATA_DIR: string } }): HttpGateChecker {
  return (tenantId, gates, context) => {
    const keys = integrationSecretKeys(deps.config);
    return Promise.all(
      gates.map(async (gate): Promise<HttpGateCheck> => {
        const checkedAt = () => new Date().toISOString();
        if (gate.pluginInstanceId) {
          // A plugin gate's check names the instance and its plugin; an integration's keeps the shape it always had.
          const found = await checkPluginGate(deps, keys, tenantId, gate.pluginInstanceId, { tenantId, ...context });
          return { name: gate.name, pluginInstanceId: gate.pluginInstanceId, ...found, reason: storableCopy(found.reason), checkedAt: checkedAt() };
        }
        const found = await checkOne(deps.pool, keys, tenantId, gate);
        return { name: gate.name, integrationId: gate.integrationId, ...found, reason: storableCopy(found.reason), checkedAt: checkedAt() };
      }),
    );
  };
}

type Found = Pick<HttpGateCheck, 'integrationName' | 'passed' | 'status' | 'reason'>;

async function checkOne(pool: Pool, keys: ReturnType<typeof integrationSecretKeys>, tenantId: string, gate: HttpGate): Promise<Found> {
  if (!gate.integrationId) return { integrationName: null, passed: false, status: null, reason: 'the gate names neither an integration nor a plugin instance' };
  let row;
  try {
    row = await integrationWithSecrets(pool, keys, tenantId, gate.integrationId);
  } catch (err) {
    return { integrationName: null, passed: false, status: null, reason: `integration ${gate.integrationId} could not be read: ${(err as Error).message}` };
  }
  if (!row) return { integrationName: null, passed: false, status: null, reason: `integration ${gate.integrationId} no longer exists; name another http-gate integration in the policy` };
  const kind = integrationType(row.type_id)?.kind;
  const check = kind === 'http-gate' ? runtimeOf(row.type_id, 'check') : undefined;
  if (!check) return { integrationName: row.name, passed: false, status: null, reason: `integration ${row.name} is a ${row.type_id} integration, not an http gate` };
  const config = joinConfig({ config: row.config, secrets: row.secrets });
  const timeoutMs = Math.min(Number(config.timeoutMs ?? 5_000), GATE_CALL_MAX_MS);
  try {
    const answered = await check({ ...config, timeoutMs }, {});
    return { integrationName: row.name, passed: true, status: Number(answered.status), reason: null };
  } catch (err) {
    const reason = err instanceof CallFailed ? err.message : reasonOf(err, timeoutMs);
    return { integrationName: row.name, passed: false, status: err instanceof GateRefused ? err.status : null, reason };
  }
}

/** The gate-gathering deps dispatch/promotion-start.ts takes: the pool and this checker over it. */
export function gateDepsOf(deps: Parameters<typeof httpGateChecker>[0]): { pool: Pool; checkHttpGates: HttpGateChecker } {
  return { pool: deps.pool, checkHttpGates: httpGateChecker(deps) };
}

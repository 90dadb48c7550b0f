import { integrationType } from '../domain/integrations/types';
import type { Pool, PoolClient } from '../platform/db';
import type { LoadedPlugin } from './plugins-loader';

/**
 * The integrations and plugin instances approval policies name as http gates:
 * what a policy may name when it is saved, and which policies stand in the way
 * of deleting one. Both lock the rows they read, so a save and a delete of the
 * same integration (or instance) cannot both go through.
 */

type Db = Pool | PoolClient;

export interface HttpGateProblem {
  field: string;
  code: 'INTEGRATION_NOT_FOUND' | 'NOT_AN_HTTP_GATE' | 'ONE_TARGET_REQUIRED' | 'PLUGIN_INSTANCE_NOT_FOUND' | 'PLUGIN_NOT_LOADED';
  message: string;
}

type GateTarget = { integrationId?: string; pluginInstanceId?: string };

/**
 * Each gate that does not name exactly one of an http-gate integration of the tenant or an instance of a loaded
 * plugin implementing http-gate, by field (`httpGates.N`, `httpGates.N.integrationId`, `httpGates.N.pluginInstanceId`).
 */
export async function httpGateProblems(db: Db, tenantId: string, gates: readonly GateTarget[], loadedPlugin: (id: string) => Promise<LoadedPlugin | undefined>): Promise<HttpGateProblem[]> {
  if (gates.length === 0) return [];
  const ids = [...new Set(gates.flatMap((g) => (g.integrationId ? [g.integrationId] : [])))];
  const { rows } = ids.length
    ? await db.query<{ id: string; name: string; type_id: string }>('SELECT id, name, type_id FROM integrations WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR SHARE', [tenantId, ids])
    : { rows: [] };
  const instanceIds = [...new Set(gates.flatMap((g) => (g.pluginInstanceId ? [g.pluginInstanceId] : [])))];
  const { rows: instances } = instanceIds.length
    ? await db.query<{ id: string; name: string; plugin_id: string }>(
        'SELECT id, name, plugin_id FROM plugin_instances WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR SHARE',
        [tenantId, instanceIds],
      )
    : { rows: [] };
  const byId = new Map(rows.map((r) => [r.id, r]));
  const instanceById = new Map(instances.map((r) => [r.id, r]));
  const plugins = new Map(await Promise.all([...new Set(instances.map((r) => r.plugin_id))].map(async (id) => [id, await loadedPlugin(id)] as const)));
  return gates.flatMap((gate, i): HttpGateProblem[] => {
    if (!gate.integrationId === !gate.pluginInstanceId) {
      return [{ field: `httpGates.${i}`, code: 'ONE_TARGET_REQUIRED', message: 'must name exactly one of integrationId (an http-gate integration) or pluginInstanceId (an http-gate plugin instance)' }];
    }
    if (gate.pluginInstanceId) {
      const field = `httpGates.${i}.pluginInstanceId`;
      const instance = instanceById.get(gate.pluginInstanceId);
      if (!instance) return [{ field, code: 'PLUGIN_INSTANCE_NOT_FOUND', message: `no plugin instance ${gate.pluginInstanceId} in this tenant` }];
      const entry = plugins.get(instance.plugin_id);
      if (!entry?.plugin) return [{ field, code: 'PLUGIN_NOT_LOADED', message: `plugin ${instance.plugin_id} of instance ${instance.name} is not loaded${entry?.loadError ? `: ${entry.loadError}` : ' (TOLLGATE_PLUGINS)'}` }];
      if (!entry.plugin.implements.includes('http-gate')) {
        return [{ field, code: 'NOT_AN_HTTP_GATE', message: `plugin ${instance.plugin_id} of instance ${instance.name} implements ${entry.plugin.implements.join(', ')}, not http-gate` }];
      }
      return [];
    }
    const field = `httpGates.${i}.integrationId`;
    const row = byId.get(gate.integrationId!);
    if (!row) return [{ field, code: 'INTEGRATION_NOT_FOUND', message: `no integration ${gate.integrationId} in this tenant` }];
    const kind = integrationType(row.type_id)?.kind;
    if (kind !== 'http-gate') return [{ field, code: 'NOT_AN_HTTP_GATE', message: `integration ${row.name} is a ${row.type_id} integration (${kind ?? 'unknown kind'}), not an http gate` }];
    return [];
  });
}

/** The live policies that name the integration as an http gate (call with the integration's row locked). */
export async function policiesNamingIntegration(db: Db, tenantId: string, integrationId: string): Promise<Array<{ id: string; name: string }>> {
  const { rows } = await db.query<{ id: string; name: string }>(
    'SELECT id, name FROM approval_policies WHERE tenant_id = $1 AND deleted_at IS NULL AND http_gates @> $2::jsonb ORDER BY name, id',
    [tenantId, JSON.stringify([{ integrationId }])],
  );
  return rows;
}

/** The live policies that name the plugin instance as an http gate (call with the instance's row locked). */
export async function policiesNamingPluginInstance(db: Db, tenantId: string, pluginInstanceId: string): Promise<Array<{ id: string; name: string }>> {
  const { rows } = await db.query<{ id: string; name: string }>(
    'SELECT id, name FROM approval_policies WHERE tenant_id = $1 AND deleted_at IS NULL AND http_gates @> $2::jsonb ORDER BY name, id',
    [tenantId, JSON.stringify([{ pluginInstanceId }])],
  );
  return rows;
}

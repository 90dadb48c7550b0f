import type { Pool } from '../../../platform/db';
import { PLUGIN_INSTANCE_COLUMNS, presentPluginInstanceRow, type PluginInstanceRow } from '../../../store/plugins';
import { listPage, type ListSpec } from '../../list-query';
import type { PageRequest } from '../../pagination';
import type { INSTANCE_SORTS } from './plugins.routes';

/** The plugin instance list: by (tenant, created_at, id), or (tenant, plugin_id, created_at, id) with a plugin. */

export const INSTANCE_SORT_COLUMNS = {
  created_at: { column: 'p.created_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof INSTANCE_SORTS)[number], unknown>;

/** The list's SQL parts: the plan test reads them too. */
export function pluginInstanceListSpec(tenantId: string, filters: { pluginId?: string }): ListSpec {
  const where = ['p.tenant_id = $1'];
  const params: unknown[] = [tenantId];
  if (filters.pluginId) {
    params.push(filters.pluginId);
    where.push(`p.plugin_id = $${params.length}`);
  }
  return { from: 'plugin_instances p', select: PLUGIN_INSTANCE_COLUMNS, where, params, sortColumns: INSTANCE_SORT_COLUMNS, idColumn: 'p.id::text' };
}

export async function listPluginInstances(pool: Pool, tenantId: string, filters: { pluginId?: string }, request: PageRequest) {
  return listPage<PluginInstanceRow, ReturnType<typeof presentPluginInstanceRow>>(pool, pluginInstanceListSpec(tenantId, filters), request, (r) => presentPluginInstanceRow(r));
}

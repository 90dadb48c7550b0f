import type { Pool } from '../../../platform/db';
import { INTEGRATION_COLUMNS, presentIntegrationRow, type IntegrationRow } from '../../../store/integrations';
import { listPage, type ListSpec } from '../../list-query';
import type { PageRequest } from '../../pagination';
import type { INTEGRATION_SORTS } from './integrations.routes';

/** The integration list, which only the API reads: by (tenant, created_at, id), or (tenant, type_id, created_at, id) with a type. */

export const INTEGRATION_SORT_COLUMNS = {
  created_at: { column: 'i.created_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof INTEGRATION_SORTS)[number], unknown>;

/** The list's SQL parts: the plan test reads them too. */
export function integrationListSpec(tenantId: string, filters: { typeId?: string }): ListSpec {
  const where = ['i.tenant_id = $1'];
  const params: unknown[] = [tenantId];
  if (filters.typeId) {
    params.push(filters.typeId);
    where.push(`i.type_id = $${params.length}`);
  }
  return { from: 'integrations i', select: INTEGRATION_COLUMNS, where, params, sortColumns: INTEGRATION_SORT_COLUMNS, idColumn: 'i.id::text' };
}

export async function listIntegrations(pool: Pool, tenantId: string, filters: { typeId?: string }, request: PageRequest) {
  return listPage<IntegrationRow, ReturnType<typeof presentIntegrationRow>>(pool, integrationListSpec(tenantId, filters), request, presentIntegrationRow);
}

import type { Pool } from '../../../platform/db';
import { INTEGRATION_COLUMNS, presentIntegrationRow, type IntegrationRow } from '../../../store/integrations';
import { listPage, type ListSpec } from '../../list-query';
import type { PageRequest } from '../../pagination';
import type { INTEGRATION_SORTS } from './integrations.routes';

/** The integration list, which only the API reads: by (tenant, created_at, id), or (tenant, type_id, created_at, id) with a type. */

export const INTEGRATION_SORT_COLUMNS = {
  created_at: { column: 'i.created_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof INTEGRATION_SORTS)[number], unknown>;

export async function listIntegrations(pool: Pool, tenantId: string, filters: { typeId?: string }, request: PageRequest) {
  const where = ['i.tenant_id = $1'];
  const params: unknown[] = [tenantId];
  if (filters.typeId) {
    params.push(filters.typeId);
    where.push(`i.type_id = $${params.length}`);
  }
  return listPage<IntegrationRow, ReturnType<typeof presentIntegrationRow>>(
    pool,
    { from: 'integrations i', select: INTEGRATION_COLUMNS, where, params, sortColumns: INTEGRATION_SORT_COLUMNS, idColumn: 'i.id::text' },
    request,
    presentIntegrationRow,
  );
}

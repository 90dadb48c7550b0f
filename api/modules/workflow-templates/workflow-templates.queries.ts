import type { Pool } from '../../../platform/db';
import { presentTemplateRow, TEMPLATE_COLUMNS, type TemplateRow } from '../../../store/workflow-templates';
import { listPage, type ListSpec } from '../../list-query';
import type { PageRequest } from '../../pagination';
import type { TEMPLATE_SORTS } from './workflow-templates.routes';

/** The template list, which only the API reads: live templates of the tenant, by the index on (tenant, created_at, id). */

export const TEMPLATE_SORT_COLUMNS = {
  created_at: { column: 't.created_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof TEMPLATE_SORTS)[number], unknown>;

export async function listTemplates(pool: Pool, tenantId: string, filters: { name?: string }, request: PageRequest) {
  const where = ['t.tenant_id = $1', 't.deleted_at IS NULL'];
  const params: unknown[] = [tenantId];
  if (filters.name) {
    params.push(filters.name);
    where.push(`lower(t.name) = lower($${params.length})`);
  }
  return listPage<TemplateRow, ReturnType<typeof presentTemplateRow>>(
    pool,
    { from: 'workflow_templates t', select: TEMPLATE_COLUMNS, where, params, sortColumns: TEMPLATE_SORT_COLUMNS, idColumn: 't.id::text' },
    request,
    presentTemplateRow,
  );
}

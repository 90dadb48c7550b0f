import type { z } from '@hono/zod-openapi';
import { findBulkJob } from '../../../store/bulk-jobs';
import { INCIDENT_COLUMNS, NOTE_COLUMNS, presentIncident, presentNote } from '../../../store/incidents';
import type { Incident, IncidentNote } from '../../../domain/incidents/model';
import type { Pool } from '../../../platform/db';
import { listPage, type ListSpec, type SortColumn } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';
import type { IncidentListQuery } from './incidents.responses';

/**
 * Reads of incidents, their notes and bulk jobs; every query is scoped by
 * tenant and skips deleted incidents. Each list filter and sort has its index
 * (db/migrations/005_incidents.sql; test/api/incidents-indexes.test.ts).
 */

const FIXED_SORTS = {
  created_at: { column: 'created_at', cast: 'timestamptz' },
  updated_at: { column: 'updated_at', cast: 'timestamptz' },
  priority: { column: 'priority', cast: 'text' },
} as const satisfies Record<string, SortColumn>;

export type IncidentFilters = z.infer<typeof IncidentListQuery>;

/** The sort a list request asks for: relevance (the default with q) only means something with q. */
export function incidentSortField(requested: string | undefined, q: string | undefined): string | undefined {
  if (requested === 'relevance' && !q) return 'created_at';
  return requested;
}

export function incidentListSpec(tenantId: string, filters: IncidentFilters): ListSpec {
  const where = ['tenant_id = $1', 'deleted_at IS NULL'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
    return params.length;
  };
  if (filters.state) add((n) => `state = ANY($${n}::text[])`, filters.state);
  if (filters.priority) add((n) => `priority = ANY($${n}::text[])`, filters.priority);
  if (filters.assignment_group) add((n) => `assignment_group = $${n}`, filters.assignment_group);
  if (filters.assigned_to) add((n) => `assigned_to = $${n}`, filters.assigned_to);
  if (filters.category) add((n) => `category = $${n}`, filters.category);
  if (filters.created_after) add((n) => `created_at > $${n}::timestamptz`, filters.created_after);
  if (filters.created_before) add((n) => `created_at < $${n}::timestamptz`, filters.created_before);
  const sortColumns: Record<string, SortColumn> = { ...FIXED_SORTS };
  if (filters.q) {
    const n = add((i) => `search @@ websearch_to_tsquery('english', $${i})`, filters.q);
    // Rank as an integer so the keyset cursor compares it exactly.
    sortColumns.relevance = { column: `(ts_rank(search, websearch_to_tsquery('english', $${n})) * 1000000)::int`, cast: 'int' };
  }
  return { from: 'incidents', select: INCIDENT_COLUMNS, where, params, sortColumns, idColumn: 'id' };
}

export async function listIncidents(pool: Pool, tenantId: string, filters: IncidentFilters, request: PageRequest): Promise<Page<Incident>> {
  return listPage(pool, incidentListSpec(tenantId, filters), request, presentIncident);
}

export function notesListSpec(tenantId: string, incidentId: string): ListSpec {
  return {
    from: 'incident_notes',
    select: NOTE_COLUMNS,
    where: ['tenant_id = $1', 'incident_id = $2'],
    params: [tenantId, incidentId],
    sortColumns: { created_at: { column: 'created_at', cast: 'timestamptz' } },
    idColumn: 'id',
  };
}

export async function listNotes(pool: Pool, tenantId: string, incidentId: string, request: PageRequest): Promise<Page<IncidentNote>> {
  return listPage(pool, notesListSpec(tenantId, incidentId), request, presentNote);
}

export function findIncidentBulkJob(pool: Pool, tenantId: string, jobId: string) {
  return findBulkJob(pool, { jobs: 'incident_bulk_jobs', results: 'incident_bulk_results', idColumn: 'incident_id' }, tenantId, jobId);
}

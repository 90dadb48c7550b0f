import type { z } from '@hono/zod-openapi';
import type { ConfigurationItem, Relationship } from '../../../domain/cmdb/model';
import type { Pool } from '../../../platform/db';
import { CI_COLUMNS, presentCi, presentRelationship, RELATIONSHIP_COLUMNS } from '../../../store/cmdb';
import { findBulkJob } from '../../../store/bulk-jobs';
import { BadRequest } from '../../errors';
import { listPage, type ListSpec, type SortColumn } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';
import type { CiListQuery, RelationshipListQuery } from './cmdb.responses';

/**
 * Reads of configuration items, their relationships and bulk jobs; every query
 * is scoped by tenant. Each list filter and sort has its index
 * (db/migrations/020_cmdb.sql; test/api/cmdb-indexes.test.ts).
 */

const FIXED_SORTS = {
  created_at: { column: 'created_at', cast: 'timestamptz' },
  updated_at: { column: 'updated_at', cast: 'timestamptz' },
  name: { column: 'name', cast: 'text' },
} as const satisfies Record<string, SortColumn>;

export type CiFilters = z.infer<typeof CiListQuery> & { attributes?: Record<string, string> };

const ATTR_KEY = /^[a-z0-9_]{1,64}$/;
const ATTR_VALUE_MAX = 500;

/** The `attr.<key>=<value>` parameters of a list request, checked: a bad key or value is a 400 naming it. */
export function attributeFilters(query: Record<string, string[]>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const errors: Array<{ field: string; code: string; message: string }> = [];
  for (const [name, values] of Object.entries(query)) {
    if (!name.startsWith('attr.')) continue;
    const key = name.slice('attr.'.length);
    if (!ATTR_KEY.test(key)) errors.push({ field: name, code: 'invalid_string', message: 'an attribute key is 1-64 lower-case letters, digits or _' });
    else if (values.length > 1) errors.push({ field: name, code: 'invalid_type', message: 'give each attribute once' });
    else if (values[0].length > ATTR_VALUE_MAX || values[0].includes('\u0000')) errors.push({ field: name, code: 'too_big', message: `at most ${ATTR_VALUE_MAX} characters, no NUL` });
    else if (values[0] !== '') out[key] = values[0];
  }
  if (errors.length) throw new BadRequest('A filter is invalid', 'VALIDATION_FAILED', errors);
  return Object.keys(out).length ? out : undefined;
}

/** The JSON values `attr.key=value` matches: the text, and the number or boolean it spells. */
function attributeMatches(key: string, value: string): string[] {
  const matches = [JSON.stringify({ [key]: value })];
  if (value === 'true' || value === 'false') matches.push(JSON.stringify({ [key]: value === 'true' }));
  else if (/^-?\d+(\.\d+)?$/.test(value) && Number.isFinite(Number(value))) matches.push(JSON.stringify({ [key]: Number(value) }));
  return matches;
}

/** A LIKE pattern matching names that start with `prefix`, its wildcards taken literally. */
const prefixPattern = (prefix: string) => `${prefix.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

export function ciListSpec(tenantId: string, filters: CiFilters): ListSpec {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
    return params.length;
  };
  if (filters.class) add((n) => `class = ANY($${n}::text[])`, filters.class);
  if (filters.lifecycle_state) add((n) => `lifecycle_state = ANY($${n}::text[])`, filters.lifecycle_state);
  if (filters.environment) add((n) => `environment = $${n}`, filters.environment);
  if (filters.owner) add((n) => `owner_group = $${n}`, filters.owner);
  if (filters.name) add((n) => `lower(name) LIKE $${n}`, prefixPattern(filters.name));
  for (const [key, value] of Object.entries(filters.attributes ?? {})) {
    const [text, typed] = attributeMatches(key, value);
    if (typed === undefined) add((n) => `attributes @> $${n}::jsonb`, text);
    else {
      params.push(text, typed);
      where.push(`(attributes @> $${params.length - 1}::jsonb OR attributes @> $${params.length}::jsonb)`);
    }
  }
  const sortColumns: Record<string, SortColumn> = { ...FIXED_SORTS };
  if (filters.q) {
    const n = add((i) => `search @@ websearch_to_tsquery('english', $${i})`, filters.q);
    // Rank as an integer so the keyset cursor compares it exactly.
    sortColumns.relevance = { column: `(ts_rank(search, websearch_to_tsquery('english', $${n})) * 1000000)::int`, cast: 'int' };
  }
  return { from: 'cmdb_cis', select: CI_COLUMNS, where, params, sortColumns, idColumn: 'id', generation: { tenantId, resourceType: 'ci' } };
}

export async function listCis(pool: Pool, tenantId: string, filters: CiFilters, request: PageRequest): Promise<Page<ConfigurationItem>> {
  return listPage(pool, ciListSpec(tenantId, filters), request, presentCi);
}

export function relationshipListSpec(tenantId: string, ciId: string, filters: z.infer<typeof RelationshipListQuery>): ListSpec {
  const params: unknown[] = [tenantId, ciId];
  const ends = { outgoing: 'source_id = $2', incoming: 'target_id = $2' };
  const where = ['tenant_id = $1', filters.direction ? ends[filters.direction] : '(source_id = $2 OR target_id = $2)'];
  if (filters.type) {
    params.push(filters.type);
    where.push(`type = ANY($${params.length}::text[])`);
  }
  return { from: 'cmdb_relationships', select: RELATIONSHIP_COLUMNS, where, params, sortColumns: { created_at: { column: 'created_at', cast: 'timestamptz' } }, idColumn: 'id' };
}

export async function listRelationships(
  pool: Pool,
  tenantId: string,
  ciId: string,
  filters: z.infer<typeof RelationshipListQuery>,
  request: PageRequest,
): Promise<Page<Relationship>> {
  return listPage(pool, relationshipListSpec(tenantId, ciId, filters), request, (row: Record<string, unknown>) => presentRelationship(row, ciId));
}

export function findCiBulkJob(pool: Pool, tenantId: string, jobId: string) {
  return findBulkJob(pool, { jobs: 'cmdb_bulk_jobs', results: 'cmdb_bulk_results', idColumn: 'ci_id' }, tenantId, jobId);
}

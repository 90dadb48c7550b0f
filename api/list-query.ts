import { createHash } from 'node:crypto';
import type { Pool } from '../platform/db';
import { BadRequest } from './errors';
import { encodeCursor, type Page, type PageRequest } from './pagination';

export interface SortColumn {
  column: string;
  cast: 'timestamptz' | 'int' | 'text';
}

export interface ListSpec {
  from: string;
  select: string;
  /** SQL conditions joined with AND; parameters numbered from $1 in `params` order. */
  where: string[];
  params: unknown[];
  sortColumns: Record<string, SortColumn>;
  /** Unique, non-null tiebreak column (text) so keyset pages never skip or repeat rows. */
  idColumn: string;
  /**
   * The tenant and resource type whose generation a trigger on `from` moves
   * at every write (list_generations, db/migrations/003_read_path.sql): each
   * filter's total is then counted once per generation, not on every call.
   */
  generation?: { tenantId: string; resourceType: string };
}

/**
 * One list query for both dialects: OFFSET pages for Stella, keyset cursors for
 * StackFlow, both ordered by (sort column, id) so an index on
 * (tenant_id, sort column, id) serves them.
 */
export interface ListSql {
  /** The page; with a `generation`, each row also carries the tenant's generation as `__generation`. */
  sql: string;
  params: unknown[];
  countSql: string;
  countParams: unknown[];
  /** With a `generation`: the count and the generation it was taken at, from one snapshot. */
  generationCountSql?: string;
  generationCountParams?: unknown[];
  pageSize: number;
}

/** The page query and its count; separate from running them so tests can EXPLAIN exactly what runs. */
export function buildListSql(spec: ListSpec, request: PageRequest): ListSql {
  const sort = spec.sortColumns[request.sort.field];
  const dir = request.sort.direction === 'desc' ? 'DESC' : 'ASC';
  const where = [...spec.where];
  const params = [...spec.params];
  const pageSize = request.mode === 'offset' ? request.pageSize : request.limit;
  const countSql = `SELECT count(*)::int AS total FROM ${spec.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  const countParams = [...params];
  if (request.mode === 'keyset' && request.after) {
    params.push(request.after.value, request.after.id);
    const op = dir === 'DESC' ? '<' : '>';
    where.push(`(${sort.column}, ${spec.idColumn}) ${op} ($${params.length - 1}::${sort.cast}, $${params.length}::text)`);
  }
  params.push(pageSize + 1);
  let tail = ` ORDER BY ${sort.column} ${dir}, ${spec.idColumn} ${dir} LIMIT $${params.length}`;
  if (request.mode === 'offset') {
    params.push((request.page - 1) * request.pageSize);
    tail += ` OFFSET $${params.length}`;
  }
  const generation = (tenant: number, resource: number) =>
    `(SELECT sum(generation)::bigint FROM list_generations WHERE tenant_id = $${tenant} AND resource_type = $${resource})`;
  let generationColumn = '';
  let counted: Pick<ListSql, 'generationCountSql' | 'generationCountParams'> = {};
  if (spec.generation) {
    const { tenantId, resourceType } = spec.generation;
    params.push(tenantId, resourceType);
    // An uncorrelated sub-select: Postgres runs it once per statement, not per row.
    generationColumn = `, ${generation(params.length - 1, params.length)} AS __generation`;
    const n = countParams.length;
    counted = {
      generationCountSql: `SELECT ${generation(n + 1, n + 2)} AS generation, (${countSql}) AS total`,
      generationCountParams: [...countParams, tenantId, resourceType],
    };
  }
  // The sort value travels in the cursor as Postgres text so timestamps keep their microseconds.
  const sql = `SELECT ${spec.select}, (${sort.column})::text AS __sort, (${spec.idColumn})::text AS __id${generationColumn} FROM ${spec.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${tail}`;
  return { sql, params, countSql, countParams, ...counted, pageSize };
}

/**
 * Totals by (resource, tenant, filter), each with the tenant generation it was
 * counted at: still exact while a page read shows the same generation. Counts
 * for one filter run one at a time, so a write seen by many concurrent lists
 * costs one count, not one per request.
 */
interface Counted {
  generation: number | null;
  total: number;
}
const COUNT_CACHE_SIZE = 10_000;
// Per pool: generations of two databases say nothing about each other.
const caches = new WeakMap<Pool, { counts: Map<string, Counted>; counting: Map<string, Promise<Counted>> }>();

function cacheOf(pool: Pool) {
  let cache = caches.get(pool);
  if (!cache) caches.set(pool, (cache = { counts: new Map(), counting: new Map() }));
  return cache;
}

function remember(counts: Map<string, Counted>, key: string, value: Counted): void {
  counts.delete(key);
  counts.set(key, value);
  if (counts.size > COUNT_CACHE_SIZE) counts.delete(counts.keys().next().value as string);
}

/** The total at generation `atLeast` or later: joins a count already running when it is recent enough. */
async function countOnce(pool: Pool, key: string, sql: string, params: unknown[], atLeast: number | null): Promise<Counted> {
  const { counts, counting } = cacheOf(pool);
  const running = counting.get(key);
  if (running) {
    const result = await running;
    if (atLeast === null || (result.generation !== null && result.generation >= atLeast)) return result;
  }
  const flight = pool
    .query<Counted>({ name: statementName(sql), text: sql, values: params })
    .then(({ rows }) => {
      const result = { generation: rows[0].generation, total: rows[0].total };
      if (result.generation !== null) remember(counts, key, result);
      return result;
    })
    .finally(() => {
      if (counting.get(key) === flight) counting.delete(key);
    });
  counting.set(key, flight);
  return flight;
}

/**
 * A name per distinct list statement, so each pooled connection parses and
 * plans it once and then only binds values: Postgres shares the machine with
 * the API, and planning a list costs it about what running one does.
 */
function statementName(sql: string): string {
  return `list_${createHash('sha1').update(sql).digest('base64url').slice(0, 22)}`;
}

export async function listPage<Row extends Record<string, unknown>, T>(
  pool: Pool,
  spec: ListSpec,
  request: PageRequest,
  present: (row: Row) => T,
): Promise<Page<T>> {
  const { sql, params, countSql, countParams, generationCountSql, generationCountParams, pageSize } = buildListSql(spec, request);
  const badCursor = (err: unknown) => {
    // A forged cursor value that does not cast to the sort column's type (SQLSTATE class 22: data exception).
    if (request.mode === 'keyset' && request.after && /^22/.test((err as { code?: string }).code ?? '')) {
      throw new BadRequest('The cursor is not valid; use next_cursor from a previous response', 'INVALID_CURSOR');
    }
    throw err;
  };

  let rows: Row[];
  let total: number;
  if (spec.generation && generationCountSql && generationCountParams) {
    const key = `${spec.generation.resourceType}\u0000${spec.generation.tenantId}\u0000${JSON.stringify([spec.where, spec.params])}`;
    const cached = cacheOf(pool).counts.get(key);
    const count = (atLeast: number | null) => countOnce(pool, key, generationCountSql, generationCountParams, atLeast);
    // Nothing cached for this filter yet: count alongside the page rather than after it.
    const early = cached ? undefined : count(null);
    early?.catch(() => undefined);
    const page = await pool.query<Row & { __generation: number | null }>({ name: statementName(sql), text: sql, values: params }).catch(badCursor);
    rows = page.rows;
    const seen = page.rows[0]?.__generation ?? null;
    const firstPage = request.mode === 'offset' ? request.page === 1 : !request.after;
    if (rows.length === 0 && firstPage) total = 0;
    else if (cached && seen !== null && cached.generation === seen) total = cached.total;
    else total = (await (early ?? count(seen))).total;
  } else {
    const [page, count] = await Promise.all([pool.query<Row>(sql, params), pool.query<{ total: number }>(countSql, countParams)]).catch(badCursor);
    rows = page.rows;
    total = count.rows[0]?.total ?? 0;
  }

  const hasMore = rows.length > pageSize;
  const pageRows = rows.slice(0, pageSize);
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(present),
    total,
    pageSize,
    page: request.mode === 'offset' ? request.page : undefined,
    nextCursor:
      hasMore && last
        ? encodeCursor({
            sort: request.sort.field,
            direction: request.sort.direction,
            value: (last.__sort as string | null) ?? null,
            id: String(last.__id),
          })
        : undefined,
  };
}

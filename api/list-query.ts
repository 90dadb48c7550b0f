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
}

/**
 * One list query for both dialects: OFFSET pages for Stella, keyset cursors for
 * StackFlow, both ordered by (sort column, id) so an index on
 * (tenant_id, sort column, id) serves them.
 */
export interface ListSql {
  sql: string;
  params: unknown[];
  countSql: string;
  countParams: unknown[];
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
  // The sort value travels in the cursor as Postgres text so timestamps keep their microseconds.
  let sql = `SELECT ${spec.select}, (${sort.column})::text AS __sort, (${spec.idColumn})::text AS __id FROM ${spec.from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${sort.column} ${dir}, ${spec.idColumn} ${dir} LIMIT $${params.length}`;
  if (request.mode === 'offset') {
    params.push((request.page - 1) * request.pageSize);
    sql += ` OFFSET $${params.length}`;
  }
  return { sql, params, countSql, countParams, pageSize };
}

export async function listPage<Row extends Record<string, unknown>, T>(
  pool: Pool,
  spec: ListSpec,
  request: PageRequest,
  present: (row: Row) => T,
): Promise<Page<T>> {
  const { sql, params, countSql, countParams, pageSize } = buildListSql(spec, request);
  const [rows, count] = await Promise.all([pool.query<Row>(sql, params), pool.query<{ total: number }>(countSql, countParams)]).catch((err) => {
    // A forged cursor value that does not cast to the sort column's type (SQLSTATE class 22: data exception).
    if (request.mode === 'keyset' && request.after && /^22/.test((err as { code?: string }).code ?? '')) {
      throw new BadRequest('The cursor is not valid; use next_cursor from a previous response', 'INVALID_CURSOR');
    }
    throw err;
  });
  const hasMore = rows.rows.length > pageSize;
  const pageRows = rows.rows.slice(0, pageSize);
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(present),
    total: count.rows[0]?.total ?? 0,
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

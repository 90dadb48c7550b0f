import { z } from '@hono/zod-openapi';
import type { Dialect } from './context';
import { BadRequest } from './errors';

export const STELLA_DEFAULT_PAGE_SIZE = 25;
export const STELLA_MAX_PAGE_SIZE = 100;
export const STACKFLOW_DEFAULT_LIMIT = 25;
export const STACKFLOW_MAX_LIMIT = 200;

/** Query parameters of both dialects; each list route extends this with its filters. */
export const paginationQuery = z.object({
  page: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().openapi({ description: 'Page number, 1-indexed' }),
  pageSize: z.coerce.number().int().min(1).max(STELLA_MAX_PAGE_SIZE).optional().openapi({ description: `Items per page, max ${STELLA_MAX_PAGE_SIZE} (Stella)` }),
  cursor: z.string().max(512).optional().openapi({ description: 'Opaque cursor from next_cursor (StackFlow)' }),
  limit: z.coerce.number().int().min(1).max(STACKFLOW_MAX_LIMIT).optional().openapi({ description: `Records per page, default 25, max ${STACKFLOW_MAX_LIMIT} (StackFlow)` }),
  sort: z.string().max(64).optional().openapi({ description: 'Sort field; prefix "-" for descending (Stella) or use order' }),
  order: z.enum(['asc', 'desc']).optional(),
});
export type PaginationQuery = z.infer<typeof paginationQuery>;

export interface SortSpec {
  field: string;
  direction: 'asc' | 'desc';
}

/** Keyset position: the sort value and id of the last row served. */
export interface KeysetCursor {
  sort: string;
  direction: 'asc' | 'desc';
  value: string | number | null;
  id: string;
}

export type PageRequest =
  | { mode: 'offset'; page: number; pageSize: number; sort: SortSpec }
  | { mode: 'keyset'; limit: number; after?: KeysetCursor; sort: SortSpec };

export interface Page<T> {
  items: T[];
  total: number;
  pageSize: number;
  page?: number;
  nextCursor?: string;
}

export function parseSort(query: PaginationQuery, allowed: readonly string[], fallback: SortSpec): SortSpec {
  if (!query.sort) return query.order ? { ...fallback, direction: query.order } : fallback;
  const descending = query.sort.startsWith('-');
  const field = descending ? query.sort.slice(1) : query.sort;
  if (!allowed.includes(field)) {
    throw new BadRequest(`Cannot sort by "${field}"`, 'VALIDATION_FAILED', [
      { field: 'sort', code: 'invalid_value', message: `sort must be one of: ${allowed.join(', ')}` },
    ]);
  }
  return { field, direction: descending ? 'desc' : (query.order ?? 'asc') };
}

/**
 * Stella callers page by number; StackFlow callers follow cursors. A StackFlow
 * caller may still ask for `page` (the incidents spec lists it), served by offset.
 */
export function pageRequest(dialect: Dialect, query: PaginationQuery, sort: SortSpec): PageRequest {
  // A Stella list pages by number, but a cursor it is sent is still checked: garbage is refused in both dialects alike.
  if (dialect === 'stella' && query.cursor !== undefined) decodeCursor(query.cursor);
  if (dialect === 'stella' || (query.page !== undefined && query.cursor === undefined)) {
    const pageSize = dialect === 'stella' ? (query.pageSize ?? query.limit ?? STELLA_DEFAULT_PAGE_SIZE) : (query.limit ?? STACKFLOW_DEFAULT_LIMIT);
    if (dialect === 'stella' && pageSize > STELLA_MAX_PAGE_SIZE) {
      throw new BadRequest(`pageSize must be at most ${STELLA_MAX_PAGE_SIZE}`, 'VALIDATION_FAILED', [
        { field: 'pageSize', code: 'too_big', message: `must be at most ${STELLA_MAX_PAGE_SIZE}` },
      ]);
    }
    return { mode: 'offset', page: query.page ?? 1, pageSize, sort };
  }
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  if (after && (after.sort !== sort.field || after.direction !== sort.direction)) {
    throw new BadRequest('The cursor belongs to a different sort order; drop it or repeat the original sort', 'INVALID_CURSOR');
  }
  return { mode: 'keyset', limit: query.limit ?? STACKFLOW_DEFAULT_LIMIT, after, sort };
}

export function encodeCursor(cursor: KeysetCursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.direction, cursor.value, cursor.id])).toString('base64url');
}

export function decodeCursor(text: string): KeysetCursor {
  try {
    const [sort, direction, value, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof sort !== 'string' || (direction !== 'asc' && direction !== 'desc') || typeof id !== 'string') throw new Error('shape');
    if (value !== null && typeof value !== 'string' && typeof value !== 'number') throw new Error('value');
    return { sort, direction, value, id };
  } catch {
    throw new BadRequest('The cursor is not valid; use next_cursor from a previous response', 'INVALID_CURSOR');
  }
}

/**
 * The paging query of a list whose sort fields are known, with the sort stated
 * as a pattern so the OpenAPI document admits exactly what the server accepts.
 */
export function sortablePaginationQuery(fields: readonly string[]) {
  return paginationQuery.extend({
    sort: z
      .string()
      .regex(new RegExp(`^-?(?:${fields.join('|')})$`), { message: `must be one of ${fields.join(', ')}, optionally prefixed with "-"` })
      .optional()
      .openapi({ description: `Sort field (${fields.join(', ')}); prefix "-" for descending, or use order` }),
  });
}

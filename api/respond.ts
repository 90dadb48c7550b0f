import type { Context, TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { JSONParsed } from 'hono/utils/types';
import type { AppEnv, Dialect } from './context';
import type { ApiError } from './errors';
import type { Page } from './pagination';

/**
 * What `ok` and `okList` answer, typed as the Stella form every route is
 * declared in (api/openapi-helpers.ts renders the StackFlow form from the same
 * declaration), so `router.openapi` checks each handler's result against the
 * response schema its route documents.
 */
type Meta = { requestId: string; timestamp: string };
type Answer<T, S extends ContentfulStatusCode = 200> = Response & TypedResponse<JSONParsed<{ success: true; data: T; meta: Meta }>, S, 'json'>;
type PaginationMeta = { page: number; pageSize: number; totalItems: number; totalPages: number; hasNext: boolean; hasPrevious: boolean };
type ListAnswer<T> = Response & TypedResponse<JSONParsed<{ success: true; data: T[]; meta: Meta & { pagination: PaginationMeta } }>, 200, 'json'>;
/** A list item as served: a RawJson record stands for the record it holds. */
type Served<T> = T extends RawJson<infer R> ? R : T;

/**
 * Renders results in the request's dialect. Stella wraps everything in
 * `{success, data, meta}`; StackFlow returns bare resources and
 * `{data, next_cursor, total}` lists. Handlers never build envelopes themselves.
 */
// NoInfer: the status is the one passed (or 200), never one read off the route the handler answers.
export function ok<T, S extends ContentfulStatusCode = 200>(c: Context<AppEnv>, data: T, status: S = 200 as S): Answer<T, NoInfer<S>> {
  if (c.get('dialect') === 'stackflow') return c.json(data as object, status) as Response as Answer<T, S>;
  return c.json({ success: true, data, meta: meta(c) }, status) as Response as Answer<T, S>;
}

/**
 * The StackFlow answer of a response whose StackFlow body is its own rather
 * than the Stella body bare (declared with perDialect in
 * api/openapi-helpers.ts: health's 503). Typed, like every answer here, in the
 * Stella form the route declares, which the caller names as `Stella`.
 */
export function stackflowOwnAnswer<Stella, S extends ContentfulStatusCode>(
  c: Context<AppEnv>,
  body: object,
  status: S,
  headers?: Record<string, string>,
): Response & TypedResponse<JSONParsed<Stella>, S, 'json'> {
  return c.json(body, status, headers) as Response as Response & TypedResponse<JSONParsed<Stella>, S, 'json'>;
}

/**
 * A record that is already JSON text (a `json` column read as text): a list of
 * them is served without parsing and serialising every record again, most of
 * what a list page otherwise costs the API.
 */
export class RawJson<T = unknown> {
  /** The record the text holds, for typing only. */
  declare readonly record?: T;
  constructor(readonly text: string) {}
}

export function okList<T>(c: Context<AppEnv>, page: Page<T>): ListAnswer<Served<T>> {
  return renderList(c, page) as ListAnswer<Served<T>>;
}

function renderList<T>(c: Context<AppEnv>, page: Page<T>): Response {
  const raw = page.items.length > 0 && page.items.every((item) => item instanceof RawJson);
  const data = raw ? `[${(page.items as RawJson[]).map((item) => item.text).join(',')}]` : undefined;
  if (c.get('dialect') === 'stackflow') {
    if (data === undefined) return c.json({ data: page.items, next_cursor: page.nextCursor ?? null, total: page.total });
    return json(c, `{"data":${data},"next_cursor":${JSON.stringify(page.nextCursor ?? null)},"total":${page.total}}`);
  }
  const pageSize = page.pageSize;
  const pageNumber = page.page ?? 1;
  const totalPages = Math.max(1, Math.ceil(page.total / pageSize));
  const listMeta = {
    pagination: {
      page: pageNumber,
      pageSize,
      totalItems: page.total,
      totalPages,
      hasNext: page.nextCursor !== undefined,
      hasPrevious: pageNumber > 1,
    },
    ...meta(c),
  };
  if (data === undefined) return c.json({ success: true, data: page.items, meta: listMeta });
  return json(c, `{"success":true,"data":${data},"meta":${JSON.stringify(listMeta)}}`);
}

const json = (c: Context<AppEnv>, text: string) => c.body(text, 200, { 'Content-Type': 'application/json' });

export function errorBody(dialect: Dialect, err: ApiError, requestId: string): Record<string, unknown> {
  if (dialect === 'stackflow') {
    return {
      error: {
        code: err.code,
        message: err.message,
        ...(err.details ? { details: err.details } : {}),
        ...(err.validationErrors ? { validation_errors: err.validationErrors } : {}),
      },
      request_id: requestId,
    };
  }
  return {
    success: false,
    error: {
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      ...(err.validationErrors ? { validationErrors: err.validationErrors } : {}),
    },
    meta: { requestId, timestamp: new Date().toISOString() },
  };
}

function meta(c: Context<AppEnv>) {
  return { requestId: c.get('requestId'), timestamp: new Date().toISOString() };
}

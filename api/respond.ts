import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv, Dialect } from './context';
import type { ApiError } from './errors';
import type { Page } from './pagination';

/**
 * Renders results in the request's dialect. Stella wraps everything in
 * `{success, data, meta}`; StackFlow returns bare resources and
 * `{data, next_cursor, total}` lists. Handlers never build envelopes themselves.
 */
export function ok<T>(c: Context<AppEnv>, data: T, status: ContentfulStatusCode = 200): Response {
  if (c.get('dialect') === 'stackflow') return c.json(data as object, status);
  return c.json({ success: true, data, meta: meta(c) }, status);
}

export function okList<T>(c: Context<AppEnv>, page: Page<T>): Response {
  if (c.get('dialect') === 'stackflow') {
    return c.json({ data: page.items, next_cursor: page.nextCursor ?? null, total: page.total });
  }
  const pageSize = page.pageSize;
  const pageNumber = page.page ?? 1;
  const totalPages = Math.max(1, Math.ceil(page.total / pageSize));
  return c.json({
    success: true,
    data: page.items,
    meta: {
      pagination: {
        page: pageNumber,
        pageSize,
        totalItems: page.total,
        totalPages,
        hasNext: page.nextCursor !== undefined,
        hasPrevious: pageNumber > 1,
      },
      ...meta(c),
    },
  });
}

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

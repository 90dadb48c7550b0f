import { isDatabaseUnavailable } from '../platform/db';
import { ApiError, ServiceUnavailable } from './errors';

export const DATABASE_RETRY_AFTER_SECONDS = 5;

// program_limit_exceeded: a value past what Postgres can hold or index (a tsvector over 1 MB, an index row over its page's share).
const PROGRAM_LIMIT_EXCEEDED = '54000';
// deadlock_detected, serialization_failure: Postgres rolled the write back because of another one at the same moment.
const WRITE_CONFLICTS = new Set(['40P01', '40001']);

/**
 * Postgres being down or restarting is a 503 the caller can retry (with its
 * Idempotency-Key), never a 500. A value too large for Postgres to hold or
 * index is the request's doing: a 413, like any body past a limit.
 */
export function mapDatabaseError(err: unknown): ApiError | undefined {
  if ((err as { code?: unknown } | null)?.code === PROGRAM_LIMIT_EXCEEDED) {
    return new ApiError(413, 'TEXT_TOO_LARGE', 'The text sent is too large to be stored or indexed; send less of it', {
      reason: (err as Error).message,
    });
  }
  if (WRITE_CONFLICTS.has(String((err as { code?: unknown } | null)?.code))) {
    return new ServiceUnavailable('Another write to the same records got in the way and this one was rolled back, with nothing kept; retry it', 'WRITE_CONFLICT', {
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
    });
  }
  if (!isDatabaseUnavailable(err)) return undefined;
  return new ServiceUnavailable('The database is unavailable; retry shortly', 'DATABASE_UNAVAILABLE', {
    dependency: 'postgres',
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}

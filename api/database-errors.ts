import { isDatabaseUnavailable } from '../platform/db';
import { ApiError, ServiceUnavailable } from './errors';

export const DATABASE_RETRY_AFTER_SECONDS = 5;

// program_limit_exceeded: a value past what Postgres can hold or index (a tsvector over 1 MB, an index row over its page's share).
const PROGRAM_LIMIT_EXCEEDED = '54000';

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
  if (!isDatabaseUnavailable(err)) return undefined;
  return new ServiceUnavailable('The database is unavailable; retry shortly', 'DATABASE_UNAVAILABLE', {
    dependency: 'postgres',
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}

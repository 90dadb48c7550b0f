import { isDatabaseUnavailable } from '../platform/db';
import { ServiceUnavailable, type ApiError } from './errors';

export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Postgres being down or restarting is a 503 the caller can retry (with its Idempotency-Key), never a 500. */
export function mapDatabaseError(err: unknown): ApiError | undefined {
  if (!isDatabaseUnavailable(err)) return undefined;
  return new ServiceUnavailable('The database is unavailable; retry shortly', 'DATABASE_UNAVAILABLE', {
    dependency: 'postgres',
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}

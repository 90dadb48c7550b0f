import { ApplicationFailure } from '@temporalio/common';
import type { FailureKind } from '../domain/errors';

/**
 * Postgres refusals that no retry can cure: the same statement with the same
 * values fails the same way forever. Everything else (a dropped connection,
 * a shutdown, a serialization failure, a missing table before a migration,
 * a unique or foreign-key race) stays retryable.
 */
export interface PermanentDbError {
  kind: FailureKind;
  type: string;
  sqlstate: string;
  message: string;
}

const INTEGRITY_FOREVER = new Set([
  '23502', // not_null_violation
  '23514', // check_violation
]);

export function permanentDbError(err: unknown): PermanentDbError | undefined {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const text = typeof message === 'string' ? message : 'refused by the database';
  // Class 22, data exception: a value the column cannot hold (NUL 22021, bad escape 22P05, year 0000 22008, …).
  if (code.startsWith('22')) return { kind: 'invalid_input', type: 'UNSTORABLE_VALUE', sqlstate: code, message: `The database refused a value: ${text}` };
  // Class 54, program limit exceeded: a value too large for what it is stored in.
  if (code.startsWith('54')) return { kind: 'invalid_input', type: 'VALUE_TOO_LARGE', sqlstate: code, message: `A value is too large to store: ${text}` };
  if (INTEGRITY_FOREVER.has(code)) return { kind: 'rule', type: 'INTEGRITY_VIOLATION', sqlstate: code, message: `The record breaks a database rule: ${text}` };
  return undefined;
}

/**
 * Turns a permanent database refusal into a non-retryable ApplicationFailure
 * in the shape workflows/failures.ts gives business refusals (type = code,
 * first detail = {kind, details}), so the workflow answers the command with it
 * and the API maps it to a 4xx instead of the activity retrying forever.
 */
export function toActivityFailure(err: unknown): unknown {
  const permanent = permanentDbError(err);
  if (!permanent) return err;
  return ApplicationFailure.create({
    type: permanent.type,
    message: permanent.message,
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
    details: [{ kind: permanent.kind, details: { sqlstate: permanent.sqlstate } }],
  });
}

type ActivityFn = (...args: never[]) => Promise<unknown>;

/** Wraps every activity of a module so a permanent database refusal fails it at once. */
export function failPermanentDbErrors<T extends Record<string, ActivityFn>>(activities: T): T {
  const wrapped: Record<string, ActivityFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toActivityFailure(err);
      }
    };
  }
  return wrapped as T;
}

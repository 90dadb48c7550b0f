import { ApplicationFailure } from '@temporalio/workflow';
import { DomainError } from '../domain/errors';

/**
 * Business refusals leave a workflow as non-retryable ApplicationFailures whose
 * type is the stable error code and whose first detail names the kind, so the
 * API can answer 403/409/422 without guessing from message text.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof DomainError) {
    return ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: true,
      details: [{ kind: err.kind, details: err.details }],
    });
  }
  return err;
}

export function rethrowAsFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toFailure(err);
  }
}

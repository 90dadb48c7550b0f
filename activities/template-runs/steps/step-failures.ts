import { ApplicationFailure } from '@temporalio/common';
import { DomainError } from '../../../domain/errors';
import type { StepRequest, StepTypeName } from '../../../domain/templates/model';
import { STEP_TYPE_DEFINITIONS } from '../../../domain/templates/step-types';

/**
 * A step that fails for a reason retrying cannot cure (a refusal, a rejected
 * promotion, a blocked gate) fails at once with the code as its type; the
 * node's own `retry` decides whether to try again. Anything else (Postgres or
 * Temporal away) is left to the activity's retries.
 */
export function stepFailure(code: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true, details: details === undefined ? [] : [details] });
}

export function asStepFailure(err: unknown): unknown {
  if (err instanceof DomainError) return stepFailure(err.code, err.message, err.details);
  return err;
}

/** The step's inputs, parsed with its type's schema (defaults applied); a mismatch fails the step, naming the fields. */
export function stepInputs<T extends StepTypeName>(request: StepRequest, type: T): any {
  if (request.type !== type) throw stepFailure('STEP_TYPE_MISMATCH', `A ${request.type} step was handed to the ${type} executor`);
  const parsed = STEP_TYPE_DEFINITIONS[type].input.safeParse(request.inputs);
  if (!parsed.success) {
    throw stepFailure('INVALID_STEP_INPUTS', `The ${type} step's inputs are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(inputs)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

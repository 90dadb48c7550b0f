import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError } from '../../../domain/errors';
import type { StepRequest, StepTypeName } from '../../../domain/templates/model';
import { STEP_TYPE_DEFINITIONS } from '../../../domain/templates/step-types';

import { stepFailure } from './executor';

export { stepFailure };

/**
 * A refusal of another module's rules (DomainError) is the step's own failure,
 * with that module's code; anything else (Postgres or Temporal away) is left
 * to the activity's retries.
 */
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

/**
 * Another module's workflow refused a step's command in its validator (its own
 * rules: a gate, a state that does not allow it): the refusal, as the step's
 * failure with that module's code; undefined for anything else.
 */
export function refusalOf(err: unknown, fallbackCode: string): ApplicationFailure | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  for (let e: unknown = err.cause; e; e = (e as { cause?: unknown }).cause) if (e instanceof ApplicationFailure) return stepFailure(e.type ?? fallbackCode, e.message);
  return undefined;
}

import { ApplicationFailure } from '@temporalio/common';
import type { StepRequest } from '../../../domain/templates/model';
import type { ActivityDeps } from '../../deps';

/** What a step type's executor gets besides its parsed inputs. */
export interface StepContext {
  deps: ActivityDeps;
  request: StepRequest;
  /** Aborted when the node is cancelled (delivered through the activity's heartbeats). */
  signal: AbortSignal;
  /** Appends lines to the step's log (workflow_run_logs) and tells the run's stream. */
  log(lines: string | readonly string[], stream?: 'stdout' | 'stderr'): Promise<void>;
}

/** An executor answers the step's outputs, or throws stepFailure() for the step's own failure. */
export type StepExecutor<I = never> = (inputs: I, context: StepContext) => Promise<Record<string, unknown>>;

/**
 * The step's own failure (a status not expected, a check that did not hold):
 * the engine decides whether to try again (the node's `retry`), so Temporal
 * must not. Anything else an executor throws is infrastructure and Temporal retries it.
 */
export function stepFailure(code: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type: code, message, nonRetryable: true, details: details ? [details] : undefined });
}

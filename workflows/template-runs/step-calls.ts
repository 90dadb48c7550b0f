import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { StepRequest, StepResult } from '../../domain/templates/model';
import { STEP_TYPE_DEFINITIONS } from '../../domain/templates/step-types';
import { callAgentStep } from './agent-steps';
import { callChildStep } from './child-steps';

export interface StepCallOptions {
  /** The node id (and the item's index under forEach): what the Temporal UI shows for the activity or child. */
  summary: string;
  /** The try's time limit; the engine also cancels the try when it passes. */
  timeoutMs?: number;
}

/** Without a node timeout an activity step may run this long; heartbeats catch a worker that died sooner. */
const DEFAULT_STEP_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * The engine owns a step's retries (the node's `retry`, the same for every
 * step type), so a step's own failure is never retried by Temporal: executors
 * fail with non-retryable failures. Temporal retries only what is not the
 * step's answer — a worker that died (heartbeat timeout) or a database blip.
 * A cancelled node waits for its activity to stop, so cleanup nodes run after it.
 */
function activityOptions(options: StepCallOptions): wf.ActivityOptions {
  return {
    startToCloseTimeout: (options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS) + 5_000,
    heartbeatTimeout: '15s',
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
    summary: options.summary,
  };
}

const { runTemplateStep } = wf.proxyActivities<Activities>({ startToCloseTimeout: '1m' });

export function callStep(request: StepRequest, options: StepCallOptions): Promise<StepResult> {
  switch (STEP_TYPE_DEFINITIONS[request.type].runsOn) {
    case 'activity':
      return runTemplateStep.executeWithOptions(activityOptions(options), [request]);
    case 'agent':
      return callAgentStep(request, options);
    case 'child':
      return callChildStep(request, options);
    default:
      throw wf.ApplicationFailure.create({ type: 'STEP_TYPE_UNAVAILABLE', message: `Step type ${request.type} is run by the engine itself, not called`, nonRetryable: true });
  }
}

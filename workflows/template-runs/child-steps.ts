import * as wf from '@temporalio/workflow';
import type { StepRequest, StepResult } from '../../domain/templates/model';
import type { StepCallOptions } from './step-calls';

/** Steps that run as a child workflow of the run (`promote`, `deploy`, `change-request`, `rollout`). */
export async function callChildStep(request: StepRequest, _options: StepCallOptions): Promise<StepResult> {
  throw wf.ApplicationFailure.create({ type: 'STEP_TYPE_UNAVAILABLE', message: `Step type ${request.type} cannot run on this worker yet`, nonRetryable: true });
}

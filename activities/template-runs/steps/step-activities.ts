import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { StepRequest, StepResult } from '../../../domain/templates/model';
import type { ActivityDeps } from '../../deps';
import { changeRequestStep } from './change-request';
import { prepareDeployStep } from './deploy';
import { promoteStep } from './promote';
import { rolloutStep } from './rollout';
import { prepareScriptStep } from './script';
import { lazyStepClient, type StepTask } from './step-client';

/**
 * The activities behind the steps that reach other modules and wait on them
 * (workflows/template-runs/child-steps.ts schedules them); the orchestrator
 * worker registers them beside the run's own.
 */
export function templateStepActivities(deps: ActivityDeps & { client?: () => Promise<Client> }) {
  const stepDeps = { ...deps, client: deps.client ?? lazyStepClient(deps.config) };
  const promote = promoteStep(stepDeps);
  const changeRequest = changeRequestStep(stepDeps);
  const rollout = rolloutStep(stepDeps);
  return {
    templatePromoteStep: (request: StepRequest): Promise<StepResult> => promote(request, currentTask()),
    templateChangeRequestStep: (request: StepRequest): Promise<StepResult> => changeRequest(request, currentTask()),
    templateRolloutStep: (request: StepRequest): Promise<StepResult> => rollout(request, currentTask()),
    templatePrepareDeployStep: prepareDeployStep(deps),
    templatePrepareScriptStep: prepareScriptStep(deps),
  };
}

export type TemplateStepActivities = ReturnType<typeof templateStepActivities>;

/** The running activity as a step sees it. */
export function currentTask(): StepTask {
  const ctx = Context.current();
  return { heartbeat: (details) => ctx.heartbeat(details), signal: ctx.cancellationSignal };
}

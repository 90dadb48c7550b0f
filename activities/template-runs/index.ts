import type { ActivityDeps } from '../deps';
import { persistRun, type PersistRunInput } from './persist';
import { runTemplateStepActivity } from './steps';

/** The template run's activities: its read-model row and audit, and the steps that run on the orchestrator's worker. */
export function templateRunActivities(deps: ActivityDeps) {
  return {
    persistWorkflowRun: (input: PersistRunInput) => persistRun(deps.pool, input),
    runTemplateStep: runTemplateStepActivity(deps),
  };
}

export type TemplateRunActivities = ReturnType<typeof templateRunActivities>;

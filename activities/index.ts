import { assessRiskActivity } from './changes/assess-risk';
import { persistChangeActivity } from './changes/persist-change';
import type { ActivityDeps } from './deps';

/** Every activity the orchestrator worker registers, bound to the worker's dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    persistChange: persistChangeActivity(deps),
    assessChangeRisk: assessRiskActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

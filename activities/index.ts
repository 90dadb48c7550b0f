import { auditReportActivities } from './audit-reports';
import { assessRiskActivity } from './changes/assess-risk';
import { persistChangeActivity } from './changes/persist-change';
import { cmdbBulkActivities } from './cmdb/bulk';
import { dashboardActivities } from './dashboard';
import { failPermanentDbErrors } from './db-failures';
import { deploymentActivities } from './deployments';
import type { ActivityDeps } from './deps';
import { promotionActivities } from './promotions/promotion-activities';
import { incidentActivities } from './incidents';
import { integrationActivities } from './integrations';
import { trafficIntegrationActivities } from './integrations/traffic';
import { rolloutActivities } from './rollouts';
import { templateRunActivities } from './template-runs';
import { templateStepActivities } from './template-runs/steps/step-activities';

/**
 * Every activity the orchestrator worker registers, bound to the worker's
 * dependencies. All of them fail at once, not retry forever, on a database
 * refusal no retry can cure (see db-failures.ts). The agent's activities are
 * not here: the agent is a process of its own (agent/activities).
 */
export function createActivities(deps: ActivityDeps) {
  return failPermanentDbErrors({
    persistChange: persistChangeActivity(deps),
    assessChangeRisk: assessRiskActivity(deps),
    ...promotionActivities(deps),
    ...incidentActivities(deps),
    ...cmdbBulkActivities(deps),
    ...deploymentActivities(deps),
    ...rolloutActivities(deps),
    ...templateRunActivities(deps),
    ...templateStepActivities(deps),
    ...dashboardActivities(deps),
    ...integrationActivities(deps),
    ...trafficIntegrationActivities(deps),
    ...auditReportActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;

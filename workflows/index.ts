// The worker's workflow entry: every export here becomes a workflow type, so export workflows only.
export { changeLifecycle } from './changes/change-lifecycle';
export { promotion } from './promotions/promotion';
export { incidentSla } from './incidents/incident-sla';
export { incidentNotification } from './incidents/incident-notification';
export { incidentBulk } from './incidents/incident-bulk';
export { cmdbBulk } from './cmdb/cmdb-bulk';
export { deploymentJob } from './deployments/deployment-job';
export { targetHealthCheck } from './deployments/target-health-check';
export { rollout } from './rollouts/rollout';
export { templateRun } from './template-runs/template-run';
export { dashboardSweep } from './dashboard/dashboard-sweep';
export { integrationCall } from './integrations/integration-call';
export { auditReport } from './audit-report';

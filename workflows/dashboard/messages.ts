/**
 * The dashboard sweep: a Temporal Schedule per task queue starts this workflow
 * every DASHBOARD_SWEEP_INTERVAL (worker/dashboard-schedule.ts). It belongs to
 * no tenant and no record, so its ids are not `<tenant>:<kind>:<id>`.
 */
export const DASHBOARD_SWEEP_WORKFLOW_TYPE = 'dashboardSweep';

export const dashboardScheduleId = (taskQueue: string) => `tollgate-dashboard-sweep:${taskQueue}`;

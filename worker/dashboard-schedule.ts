import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { DASHBOARD_SWEEP_WORKFLOW_TYPE, dashboardScheduleId } from '../workflows/dashboard/messages';

/**
 * The dashboard sweep's Temporal Schedule (one per task queue), made or
 * brought to the configured interval at each worker start. A schedule, not a
 * timer in some process: it keeps firing across restarts of any worker, runs
 * one pass at a time (overlap: skip), and shows in the Temporal UI.
 */
export async function ensureDashboardSchedule(client: Client, options: { taskQueue: string; intervalMs: number }): Promise<string> {
  const scheduleId = dashboardScheduleId(options.taskQueue);
  const spec = { intervals: [{ every: options.intervalMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: DASHBOARD_SWEEP_WORKFLOW_TYPE,
    taskQueue: options.taskQueue,
    args: [] as [],
    workflowExecutionTimeout: Math.max(options.intervalMs * 4, 120_000),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(options.intervalMs, 60_000) };
  const schedule: ScheduleOptions = { scheduleId, spec, action, policies };
  try {
    await client.schedule.create(schedule);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
  }
  return scheduleId;
}

import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { DashboardSweepResult } from '../../domain/dashboard/events';

const { sweepDashboard } = wf.proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
  summary: 'record freezes that started or ended; purge dashboard events past retention',
});

/** One pass of the dashboard sweep; the schedule that starts it skips a pass while the last one still runs. */
export async function dashboardSweep(): Promise<DashboardSweepResult> {
  return sweepDashboard();
}

import type { DashboardSweepResult } from '../../domain/dashboard/events';
import { purgeEvents, recordFreezeStates } from '../../store/dashboard-events';
import type { ActivityDeps } from '../deps';

/**
 * What the dashboard needs that no write announces: freezes start and end with
 * the clock. Run by the dashboard sweep schedule; a retry or an overlapping
 * run writes each start and end once (store/dashboard-events.ts).
 */
export function dashboardActivities(deps: ActivityDeps) {
  return {
    async sweepDashboard(): Promise<DashboardSweepResult> {
      const now = Date.now();
      const freezeStates = await recordFreezeStates(deps.pool, now);
      const purged = await purgeEvents(deps.pool, new Date(now - deps.config.DASHBOARD_EVENT_RETENTION));
      return { freezeStates, purged };
    },
  };
}

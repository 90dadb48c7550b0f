import { DASHBOARD_CHANNEL, type DashboardNotice } from '../../store/dashboard-events';
import { notifyFields } from './notify-payload';

export { DASHBOARD_CHANNEL, type DashboardNotice };

/** The notice a NOTIFY payload holds (migration 024's dashboard_emit writes them), or undefined for anything else. */
export function parseDashboardNotice(payload: string | undefined): DashboardNotice | undefined {
  const fields = notifyFields(payload);
  if (!fields || typeof fields.tenantId !== 'string' || typeof fields.id !== 'string' || !/^\d+$/.test(fields.id)) return undefined;
  return { tenantId: fields.tenantId, id: fields.id };
}

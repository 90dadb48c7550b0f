import type { ActivityDeps } from '../deps';
import { bulkActivities } from './bulk';
import { notifyActivity } from './notify';
import { recordSlaActivity } from './record-sla';

/** The incident module's activities: the SLA record, stakeholder notifications and the bulk job's steps. */
export function incidentActivities(deps: ActivityDeps) {
  return {
    recordIncidentSla: recordSlaActivity(deps),
    notifyIncident: notifyActivity(deps),
    ...bulkActivities(deps),
  };
}

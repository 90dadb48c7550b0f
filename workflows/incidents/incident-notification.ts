import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { IncidentNotificationResult } from '../../domain/incidents/notifications';
import type { IncidentNotificationInput } from './messages';

// A webhook down for a while still gets the notification; one down for good ends in a failed run an operator can see.
const OPTIONS: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
};
const { notifyIncident } = wf.proxyActivities<Activities>(OPTIONS);

/**
 * One stakeholder notification asked for by a request (notify_stakeholders):
 * its own workflow so it is retried durably after the API has answered, and
 * its id (incident, version, reason) makes a retried request notify once.
 */
export async function incidentNotification(input: IncidentNotificationInput): Promise<IncidentNotificationResult> {
  return notifyIncident.executeWithOptions(
    { ...OPTIONS, summary: `Notify ${input.incident.assignment_group ?? 'stakeholders'} about ${input.incidentId} (${input.reason})` },
    [{ tenantId: input.tenantId, incidentId: input.incidentId, reason: input.reason, incident: input.incident, requestedBy: input.requestedBy }],
  );
}

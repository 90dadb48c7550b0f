import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Incident } from '../domain/incidents/model';
import type { NotificationReason } from '../domain/incidents/notifications';
import type { SlaPolicy } from '../domain/incidents/sla-policy';
import type { Pool } from '../platform/db';
import type { Logger } from '../platform/logger';
import {
  incidentChanged,
  NOTIFICATION_WORKFLOW_TYPE,
  notificationSearchAttributesOf,
  notificationWorkflowId,
  searchAttributesOf,
  SIGNAL_TIMELINE_ENTRIES,
  SLA_WORKFLOW_TYPE,
  slaWorkflowId,
  type IncidentNotificationInput,
  type IncidentSlaInput,
} from '../workflows/incidents/messages';
import { incidentTitle } from '../domain/workflow-titles';
import { latestSlaEvents } from '../store/incidents';

/**
 * What follows a committed incident write, for the API and the bulk job alike:
 * the SLA clock hears of state and priority changes (signal-with-start, so the
 * first one starts it), and notify_stakeholders starts a notification run.
 * Fire-and-forget: the write has landed, so a failure here is logged, never
 * answered; the next signal carries the timeline entries this one missed.
 */

export interface FollowupSettings {
  client: Client;
  pool: Pool;
  log: Logger;
  taskQueue: string;
  policy: SlaPolicy;
}

export interface Followup {
  tenantId: string;
  incident: Incident;
  clockMoved: boolean;
  notify?: NotificationReason;
  requestedBy: string;
}

export async function afterIncidentWrite(s: FollowupSettings, f: Followup): Promise<void> {
  await Promise.all([
    f.clockMoved ? tellSlaClock(s, f.tenantId, f.incident) : undefined,
    f.notify ? startNotification(s, { tenantId: f.tenantId, incidentId: f.incident.id, reason: f.notify, incident: f.incident, requestedBy: f.requestedBy }) : undefined,
  ]);
}

export async function tellSlaClock(s: FollowupSettings, tenantId: string, incident: Incident): Promise<void> {
  try {
    const events = await latestSlaEvents(s.pool, tenantId, incident.id, SIGNAL_TIMELINE_ENTRIES);
    if (events.length === 0) return;
    const input: IncidentSlaInput = { tenantId, incidentId: incident.id };
    await s.client.workflow.signalWithStart(SLA_WORKFLOW_TYPE, {
      workflowId: slaWorkflowId(tenantId, incident.id),
      taskQueue: s.taskQueue,
      args: [input],
      signal: incidentChanged,
      signalArgs: [{ events, policy: s.policy, shortDescription: incident.short_description }],
      typedSearchAttributes: searchAttributesOf(tenantId, incident, incidentTitle(incident)),
      staticSummary: incident.short_description,
      staticDetails: `${incident.id}: ${incident.priority} incident opened by ${incident.opened_by}${incident.assignment_group ? ` for ${incident.assignment_group}` : ''}`,
    });
  } catch (err) {
    s.log.error({ err, tenant: tenantId, incident: incident.id, version: incident.version }, 'could not signal the SLA clock; the next state change will carry this one');
  }
}

/** A deleted incident needs no clock; a clock that already ended is fine too. */
export async function stopSlaClock(s: FollowupSettings, tenantId: string, incident: Incident): Promise<void> {
  try {
    await s.client.workflow.getHandle(slaWorkflowId(tenantId, incident.id)).signal(incidentChanged, { events: [], policy: s.policy, shortDescription: incident.short_description, deleted: true });
  } catch (err) {
    s.log.debug({ err, tenant: tenantId, incident: incident.id }, 'no SLA clock to stop');
  }
}

export async function startNotification(s: FollowupSettings, input: IncidentNotificationInput): Promise<void> {
  const { incident } = input;
  try {
    await s.client.workflow.start(NOTIFICATION_WORKFLOW_TYPE, {
      workflowId: notificationWorkflowId(input.tenantId, incident.id, incident.version, input.reason),
      taskQueue: s.taskQueue,
      args: [input],
      // One notification per version and reason, even when the request is retried.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: notificationSearchAttributesOf(input.tenantId, incident.id),
      staticSummary: `Notify ${incident.assignment_group ?? 'stakeholders'}: ${incident.short_description}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    s.log.error({ err, tenant: input.tenantId, incident: incident.id, reason: input.reason }, 'could not start the stakeholder notification');
  }
}

import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Incident } from '../../domain/incidents/model';
import type { SlaClock, SlaEvent } from '../../domain/incidents/sla';
import type { SlaPolicy } from '../../domain/incidents/sla-policy';

/**
 * Messages of the incident workflows: the SLA clock (one per open incident,
 * driven by signals), the notification run and the bulk job. The API and the
 * bulk activity import these definitions and the id helpers, never the workflows.
 */

export const SLA_WORKFLOW_TYPE = 'incidentSla';
export const NOTIFICATION_WORKFLOW_TYPE = 'incidentNotification';
export const BULK_WORKFLOW_TYPE = 'incidentBulk';

export interface IncidentSlaInput {
  tenantId: string;
  incidentId: string;
  /** State carried across continue-as-new. */
  carried?: SlaCarried;
  /** Continue-as-new past this many history events; Temporal's own suggestion applies regardless (tests set it low). */
  maxHistoryEvents?: number;
}

export interface SlaCarried {
  timeline: SlaEvent[];
  policy: SlaPolicy;
  shortDescription: string;
  /** Facts already recorded (warning, breach of each target), never recorded twice. */
  recorded: SlaFact[];
}

export type SlaFact = 'response_warning' | 'response_breach' | 'resolution_warning' | 'resolution_breach';

/**
 * A state or priority change of the incident: the latest entries of its
 * timeline (not just the newest), so one lost signal is made good by the next.
 */
export interface IncidentChanged {
  events: SlaEvent[];
  policy: SlaPolicy;
  shortDescription: string;
  /** The incident was deleted: the clock stops for good. */
  deleted?: boolean;
}

export const incidentChanged = defineSignal<[IncidentChanged]>('incidentChanged');

export interface SlaStatus {
  clock: SlaClock | null;
  recorded: SlaFact[];
  /** The workflow's own time when it last ran. */
  asOf: string;
}

export const getSlaStatus = defineQuery<SlaStatus>('getSlaStatus');

/** How many of the newest timeline entries each signal carries. */
export const SIGNAL_TIMELINE_ENTRIES = 20;

export function slaWorkflowId(tenantId: string, incidentId: string): string {
  return `${tenantId}:incident:${incidentId}`;
}

export type NotificationReason = 'created' | 'updated' | SlaFact;

export interface IncidentNotificationInput {
  tenantId: string;
  incidentId: string;
  reason: NotificationReason;
  /** The incident as it was when the notification was asked for. */
  incident: Incident;
  requestedBy: string;
}

/** One run per incident version and reason, so a retried request notifies once. */
export function notificationWorkflowId(tenantId: string, incidentId: string, version: number, reason: NotificationReason): string {
  return `${tenantId}:incident-notify:${incidentId}:v${version}:${reason}`;
}

export interface IncidentBulkInput {
  tenantId: string;
  jobId: string;
  total: number;
}

export function bulkWorkflowId(tenantId: string, jobId: string): string {
  return `${tenantId}:incident-bulk:${jobId}`;
}

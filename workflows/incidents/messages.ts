import type { SearchAttributePair, SearchAttributeUpdatePair } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Incident } from '../../domain/incidents/model';
import type { NotificationReason } from '../../domain/incidents/notifications';
import type { SlaClock, SlaEvent, SlaFact } from '../../domain/incidents/sla';
import type { SlaPolicy } from '../../domain/incidents/sla-policy';
import { SA } from '../../domain/search-attributes';
import { workflowId } from '../../domain/workflow-ids';

/**
 * Messages of the incident workflows: the SLA clock (one per open incident,
 * driven by signals), the notification run and the bulk job. The API and
 * dispatch/ import these definitions, the id helpers and the search-attribute
 * lists, never the workflows.
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
  return workflowId(tenantId, 'incident', incidentId);
}

/** What the SLA clock's search attributes say of its incident. */
export type SlaSubject = Pick<Incident, 'id' | 'state' | 'priority'>;

/**
 * The SLA clock's search attributes, one list for both ends: the start
 * (signal-with-start from dispatch/) sets the incident's; the workflow adds
 * the flags of the facts it recorded and upserts what moved. Running clocks
 * replay their upserts, so a new value or order needs `patched()`. The title
 * is given at the start only.
 */
export function searchAttributesOf(tenantId: string, incident: SlaSubject, title?: string): SearchAttributePair[];
export function searchAttributesOf(tenantId: string, incident: SlaSubject, recorded: ReadonlySet<SlaFact>): SearchAttributeUpdatePair[];
export function searchAttributesOf(tenantId: string, incident: SlaSubject, atStartOrRecorded?: string | ReadonlySet<SlaFact>): SearchAttributeUpdatePair[] {
  const attributes: SearchAttributeUpdatePair[] = [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'incident' },
    { key: SA.resourceId, value: incident.id },
    { key: SA.state, value: incident.state },
    { key: SA.priority, value: incident.priority },
  ];
  if (atStartOrRecorded === undefined) return attributes;
  if (typeof atStartOrRecorded === 'string') return [...attributes, { key: SA.title, value: atStartOrRecorded }];
  const recorded = atStartOrRecorded;
  const warned = recorded.has('response_warning') || recorded.has('resolution_warning');
  const breached = recorded.has('response_breach') || recorded.has('resolution_breach');
  const flags = [...(warned ? ['sla_warning'] : []), ...(breached ? ['sla_breached'] : [])];
  return [...attributes, { key: SA.flags, value: flags.length ? flags : null }];
}

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
  return workflowId(tenantId, 'incident-notify', `${incidentId}:v${version}:${reason}`);
}

/** A notification run's search attributes, set at its start. */
export function notificationSearchAttributesOf(tenantId: string, incidentId: string): SearchAttributePair[] {
  return [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'incident-notification' },
    { key: SA.resourceId, value: incidentId },
  ];
}

export interface IncidentBulkInput {
  tenantId: string;
  jobId: string;
  total: number;
}

export function bulkWorkflowId(tenantId: string, jobId: string): string {
  return workflowId(tenantId, 'incident-bulk', jobId);
}

/** A bulk job's search attributes, set at its start. */
export function bulkSearchAttributesOf(tenantId: string, jobId: string): SearchAttributePair[] {
  return [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'incident-bulk' },
    { key: SA.resourceId, value: jobId },
  ];
}

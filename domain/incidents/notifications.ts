import type { SlaFact } from './sla';

/** Why stakeholders are told about an incident: a request asked for it (created, updated), or the SLA clock recorded a fact. */
export type NotificationReason = 'created' | 'updated' | SlaFact;

/** What one notifier integration did with an incident notification; `earlier` when an earlier attempt of the same notification already had this answer. */
export interface NotifierOutcome {
  integrationId: string;
  name: string;
  outcome: 'delivered' | 'refused' | 'failed';
  status: number | null;
  attempts: number;
  reason: string | null;
  earlier: boolean;
}

/** What one instance of a notifier plugin did with it (the plugin's answer; `failed` is retried, `refused` is not). */
export interface PluginNotifierOutcome {
  pluginInstanceId: string;
  pluginId: string | null;
  name: string;
  outcome: 'delivered' | 'refused' | 'failed';
  reason: string | null;
  earlier: boolean;
}

/**
 * Where a notification went: the assignment group's webhook or a log line
 * (no integration or plugin instance subscribed to its event), or each
 * subscribed notifier integration with its outcome (and, when any is
 * subscribed, each notifier plugin instance).
 */
export type IncidentNotificationResult =
  | { delivered: 'webhook' | 'log' }
  | { delivered: 'integrations'; notificationId: string; integrations: NotifierOutcome[]; pluginInstances?: PluginNotifierOutcome[] };

/**
 * The id of one incident notification, the same on every retry of it: a
 * request's (created, updated) names the incident version it was asked for
 * at; an SLA fact happens once per incident.
 */
export function incidentNotificationId(incidentId: string, reason: NotificationReason, version: number | undefined): string {
  return reason === 'created' || reason === 'updated' ? `incident:${incidentId}:v${version ?? 0}:${reason}` : `incident:${incidentId}:${reason}`;
}

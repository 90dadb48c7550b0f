import { ApplicationFailure } from '@temporalio/common';
import type { Incident } from '../../domain/incidents/model';
import type { IncidentNotificationResult, NotificationReason } from '../../domain/incidents/notifications';
import { incidentEvent, patternsMatching } from '../../domain/integrations/events';
import type { ActivityDeps } from '../deps';
import { subscribedNotifiers } from '../../store/incident-notification-deliveries';
import { findIncident } from '../../store/incidents';
import { subscribedPluginInstances } from '../../store/plugins';
import { outboundFetch } from '../../platform/egress';
import { notifyThroughIntegrations } from './notification-integrations';

export interface NotifyInput {
  tenantId: string;
  incidentId: string;
  reason: NotificationReason;
  /** The incident as the request saw it; without it (SLA facts) the current row is sent. */
  incident?: Incident;
  requestedBy?: string;
}

const TIMEOUT_MS = 10_000;

/**
 * Tells an incident's stakeholders. When the tenant has notifier integrations
 * (or notifier plugin instances) subscribed to the event (`incident.<reason>` or `incident.*`), through each
 * of them (notification-integrations.ts). Otherwise as before: a JSON POST to the webhook configured for
 * its assignment group (incident_notification_webhooks; group '*' is the
 * tenant's fallback), or, when none is configured, a log line saying so. A
 * webhook that answers 5xx, 408 or 429 (or not at all) is retried by Temporal;
 * any other 4xx will not get better and fails at once.
 */
export function notifyActivity(deps: ActivityDeps) {
  return async function notifyIncident(input: NotifyInput): Promise<IncidentNotificationResult> {
    const incident = input.incident ?? (await findIncident(deps.pool, input.tenantId, input.incidentId));
    const where = { tenant: input.tenantId, incident: input.incidentId, reason: input.reason };
    if (!incident) {
      deps.log.info(where, 'incident notification skipped: the incident was deleted');
      return { delivered: 'log' };
    }
    const event = incidentEvent(input.reason);
    const [notifiers, instances] = await Promise.all([subscribedNotifiers(deps.pool, input.tenantId, patternsMatching(event)), subscribedPluginInstances(deps.pool, input.tenantId, patternsMatching(event))]);
    if (notifiers.length || instances.length) return notifyThroughIntegrations(deps, input, incident, event, notifiers, instances);
    const { rows } = await deps.pool.query<{ url: string }>(
      `SELECT url FROM incident_notification_webhooks WHERE tenant_id = $1 AND assignment_group IN ($2, '*')
        ORDER BY assignment_group = '*' LIMIT 1`,
      [input.tenantId, incident.assignment_group ?? '*'],
    );
    if (!rows[0]) {
      deps.log.info({ ...where, event, group: incident.assignment_group, priority: incident.priority, state: incident.state }, 'incident notification: no webhook configured for the assignment group');
      return { delivered: 'log' };
    }
    const response = await outboundFetch(rows[0].url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'tollgate',
        'x-tollgate-event': event,
        // Receivers can drop a repeat of the same notification.
        'idempotency-key': `${input.tenantId}:${incident.id}:v${incident.version}:${input.reason}`,
      },
      body: JSON.stringify({ event, tenant_id: input.tenantId, reason: input.reason, requested_by: input.requestedBy ?? null, incident, sent_at: new Date().toISOString() }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) {
      deps.log.info({ ...where, event, status: response.status }, 'incident notification delivered');
      return { delivered: 'webhook' };
    }
    const message = `The webhook for ${incident.assignment_group ?? 'the tenant'} answered ${response.status}`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new Error(message);
    throw ApplicationFailure.create({ type: 'WEBHOOK_REFUSED', message, nonRetryable: true });
  };
}

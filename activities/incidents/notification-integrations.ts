import { ApplicationFailure } from '@temporalio/common';
import type { Incident } from '../../domain/incidents/model';
import type { IncidentNotificationResult, NotificationReason, NotifierOutcome, PluginNotifierOutcome } from '../../domain/incidents/notifications';
import { joinConfig } from '../../domain/integrations/config';
import { incidentNotificationId } from '../../domain/incidents/notifications';
import type { Notification } from '../../domain/integrations/notifications';
import { storableCopy } from '../../domain/text';
import { receiverKey, recordDelivery, recordedDeliveries, type SubscribedNotifier } from '../../store/incident-notification-deliveries';
import { integrationWithSecrets } from '../../store/integrations';
import { integrationSecretKeys } from '../../store/integrations-secrets';
import { reasonOf } from '../integrations/http';
import { notifyThroughPlugin, type PluginNotifyFailure } from '../integrations/plugin-notify';
import { runtimeOf } from '../integrations/runtimes';
import { DeliveryRefused } from '../integrations/webhook';
import type { ActivityDeps } from '../deps';

/**
 * An incident notification delivered to every notifier integration of the
 * tenant subscribed to its event, all at once, each with its own format,
 * signing secret and retries (secrets opened here, never in a history). One
 * receiver failing never stops the others.
 *
 * What an attempt leaves behind: each receiver that took the notification, or
 * refused it for good (a 4xx other than 408/429: another attempt would be
 * refused too), is recorded under the notification's id. When a receiver was
 * down (network error, 408, 429, 5xx after its own attempts) the activity
 * fails and Temporal retries it; the retry skips every receiver already
 * recorded, so none gets it twice. Every delivery carries the id in
 * X-Tollgate-Delivery, the same on every attempt, so a receiver can drop a
 * repeat in the moment between its answer and the record.
 *
 * Instances of notifier plugins subscribed to the event are receivers too,
 * called through the host's bounded call (plugin-notify.ts) and recorded the
 * same way: one that answered ok, or cannot take it at all (gone, disabled,
 * no notifier), is done; one that threw, answered not ok or hung is retried.
 */
export async function notifyThroughIntegrations(
  deps: ActivityDeps,
  input: { tenantId: string; reason: NotificationReason; requestedBy?: string; incident?: Incident },
  incident: Incident,
  event: string,
  notifiers: SubscribedNotifier[],
  instances: Array<{ id: string; name: string; plugin_id: string }> = [],
): Promise<IncidentNotificationResult> {
  const notificationId = incidentNotificationId(incident.id, input.reason, (input.incident ?? incident).version);
  const earlier = await recordedDeliveries(deps.pool, input.tenantId, notificationId);
  const notification: Notification = {
    id: notificationId,
    title: `${incident.number}: ${incident.short_description}`,
    text: `${event} — priority ${incident.priority}, state ${incident.state}${incident.assignment_group ? `, group ${incident.assignment_group}` : ''}`,
    event,
    at: new Date().toISOString(),
    data: { tenant_id: input.tenantId, reason: input.reason, requested_by: input.requestedBy ?? null, incident },
  };
  const outcomes = await Promise.all(
    notifiers.map(async (n): Promise<NotifierOutcome> => {
      const done = earlier.get(receiverKey('integration', n.id));
      if (done) return { integrationId: n.id, name: n.name, outcome: done.outcome, status: done.status, attempts: done.attempts, reason: done.reason, earlier: true };
      return deliverOne(deps, input.tenantId, notificationId, n, notification);
    }),
  );
  const pluginOutcomes = await Promise.all(
    instances.map(async (i): Promise<PluginNotifierOutcome> => {
      const done = earlier.get(receiverKey('plugin_instance', i.id));
      if (done) return { pluginInstanceId: i.id, pluginId: i.plugin_id, name: i.name, outcome: done.outcome, reason: done.reason, earlier: true };
      return deliverThroughPlugin(deps, input.tenantId, notificationId, i, notification);
    }),
  );
  const where = { tenant: input.tenantId, incident: incident.id, event, notification: notificationId };
  for (const o of outcomes) deps.log.info({ ...where, integration: o.integrationId, outcome: o.outcome, status: o.status, reason: o.reason, earlier: o.earlier }, 'incident notification through an integration');
  for (const o of pluginOutcomes) deps.log.info({ ...where, pluginInstance: o.pluginInstanceId, plugin: o.pluginId, outcome: o.outcome, reason: o.reason, earlier: o.earlier }, 'incident notification through a plugin');
  // Only when a plugin instance is subscribed does the result name them: every other notification's result stays as it was.
  const receivers = { notificationId, integrations: outcomes, ...(instances.length ? { pluginInstances: pluginOutcomes } : {}) };
  const failed = [...outcomes, ...pluginOutcomes].filter((o) => o.outcome === 'failed');
  if (failed.length) {
    throw ApplicationFailure.create({
      type: 'NOTIFIER_UNREACHABLE',
      message: `${failed.length} of ${outcomes.length + pluginOutcomes.length} notifier(s) did not take ${event}: ${failed.map((o) => `${o.name}: ${o.reason}`).join('; ')}`,
      details: [receivers],
    });
  }
  return { delivered: 'integrations', ...receivers };
}

/** A plugin that cannot take the notification at all is recorded as refused; a throw, a not-ok answer or a hang is retried. */
const PLUGIN_REFUSALS: readonly PluginNotifyFailure[] = ['PLUGIN_INSTANCE_NOT_FOUND', 'PLUGIN_DISABLED', 'NOT_A_NOTIFIER'];

async function deliverThroughPlugin(deps: ActivityDeps, tenantId: string, notificationId: string, i: { id: string; name: string; plugin_id: string }, notification: Notification): Promise<PluginNotifierOutcome> {
  const base = { pluginInstanceId: i.id, pluginId: i.plugin_id, name: i.name, earlier: false };
  const said = await notifyThroughPlugin(deps, tenantId, i.id, notification);
  const outcome = said.ok ? 'delivered' : PLUGIN_REFUSALS.includes(said.code) ? 'refused' : 'failed';
  const reason = said.ok ? null : storableCopy(said.reason);
  if (outcome !== 'failed') await recordDelivery(deps.pool, tenantId, notificationId, { integration_id: i.id, receiver_kind: 'plugin_instance', outcome, status: null, attempts: 1, reason });
  return { ...base, outcome, reason };
}

async function deliverOne(deps: ActivityDeps, tenantId: string, notificationId: string, n: SubscribedNotifier, notification: Notification): Promise<NotifierOutcome> {
  const base = { integrationId: n.id, name: n.name, earlier: false };
  const settle = async (outcome: 'delivered' | 'refused', status: number | null, attempts: number, reason: string | null): Promise<NotifierOutcome> => {
    const storable = storableCopy(reason);
    await recordDelivery(deps.pool, tenantId, notificationId, { integration_id: n.id, outcome, status, attempts, reason: storable });
    return { ...base, outcome, status, attempts, reason: storable };
  };
  const row = await integrationWithSecrets(deps.pool, integrationSecretKeys(deps.config), tenantId, n.id);
  if (!row) return settle('refused', null, 0, 'the integration was deleted');
  const deliver = runtimeOf(row.type_id, 'notify');
  if (!deliver) return settle('refused', null, 0, `a ${row.type_id} integration does not deliver notifications`);
  try {
    const delivered = await deliver(joinConfig({ config: row.config, secrets: row.secrets }), { notification });
    return settle('delivered', Number(delivered.status), Number(delivered.attempts), null);
  } catch (err) {
    const reason = reasonOf(err, Number(row.config.timeoutMs ?? 0));
    if (err instanceof DeliveryRefused) return settle('refused', null, Number(row.config.maxAttempts ?? 1), reason);
    return { ...base, outcome: 'failed', status: null, attempts: Number(row.config.maxAttempts ?? 1), reason: storableCopy(reason) };
  }
}

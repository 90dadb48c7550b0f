import type { Pool } from '../platform/db';

/**
 * The notifier integrations an incident notification goes to (those of the
 * tenant subscribed to its event), and what each answered, kept per
 * notification so a retried notification skips receivers already done.
 */

export interface SubscribedNotifier {
  id: string;
  name: string;
  type_id: string;
}

export async function subscribedNotifiers(pool: Pool, tenantId: string, patterns: string[]): Promise<SubscribedNotifier[]> {
  const { rows } = await pool.query<SubscribedNotifier>(
    'SELECT id, name, type_id FROM integrations WHERE tenant_id = $1 AND events && $2::text[] ORDER BY created_at, id',
    [tenantId, patterns],
  );
  return rows;
}

/** Who took a notification: a notifier integration, or an instance of a notifier plugin. */
export type ReceiverKind = 'integration' | 'plugin_instance';

export interface RecordedDelivery {
  /** The receiver's id: an integration's, or a plugin instance's (receiver_kind says which). */
  integration_id: string;
  receiver_kind?: ReceiverKind;
  outcome: 'delivered' | 'refused';
  status: number | null;
  attempts: number;
  reason: string | null;
}

/** What each receiver of the notification answered, keyed by `receiverKey`. */
export async function recordedDeliveries(pool: Pool, tenantId: string, notificationId: string): Promise<Map<string, RecordedDelivery>> {
  const { rows } = await pool.query<RecordedDelivery>(
    'SELECT integration_id, receiver_kind, outcome, status, attempts, reason FROM incident_notification_deliveries WHERE tenant_id = $1 AND notification_id = $2',
    [tenantId, notificationId],
  );
  return new Map(rows.map((r) => [receiverKey(r.receiver_kind ?? 'integration', r.integration_id), r]));
}

export const receiverKey = (kind: ReceiverKind, id: string) => `${kind}:${id}`;

export async function recordDelivery(pool: Pool, tenantId: string, notificationId: string, d: RecordedDelivery): Promise<void> {
  await pool.query(
    `INSERT INTO incident_notification_deliveries (tenant_id, notification_id, integration_id, receiver_kind, outcome, status, attempts, reason, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) ON CONFLICT DO NOTHING`,
    [tenantId, notificationId, d.integration_id, d.receiver_kind ?? 'integration', d.outcome, d.status, d.attempts, d.reason],
  );
}

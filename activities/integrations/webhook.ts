import { createHmac } from 'node:crypto';
import { backoffMs, DELIVERY_HEADER, notificationBody, retryableStatus, SIGNATURE_HEADER, signatureHeaderValue, signedContent, type Notification, type NotifierFormat } from '../../domain/integrations/notifications';
import { bodySnippet, call, CallFailed } from './http';

/**
 * Delivers one notification to a webhook: the body shaped for its format,
 * signed with HMAC-SHA256 when a signing secret is set, retried with backoff
 * while the receiver is down or busy (network errors, 408, 429, 5xx) up to
 * maxAttempts; a 4xx other than those is final.
 */

export interface WebhookConfig {
  url: string;
  format: NotifierFormat;
  headers?: Record<string, string>;
  signingSecret?: string;
  maxAttempts: number;
  timeoutMs: number;
}

export interface Delivery {
  attempts: number;
  status: number;
}

/** The receiver refused the notification (a 4xx other than 408 and 429): another attempt would be refused too. */
export class DeliveryRefused extends CallFailed {}

export function sign(secret: string, timestamp: number, body: string): string {
  return signatureHeaderValue(timestamp, createHmac('sha256', secret).update(signedContent(timestamp, body)).digest('hex'));
}

export async function deliver(config: WebhookConfig, notification: Notification, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<Delivery> {
  const body = JSON.stringify(notificationBody(config.format, notification));
  let last = '';
  for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt));
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { ...config.headers, 'content-type': 'application/json', 'user-agent': 'Tollgate-Webhook/1', 'x-tollgate-attempt': String(attempt) };
    if (notification.id) headers[DELIVERY_HEADER] = notification.id;
    if (config.signingSecret) headers[SIGNATURE_HEADER] = sign(config.signingSecret, timestamp, body);
    try {
      const res = await call(config.url, { method: 'POST', headers, body, timeoutMs: config.timeoutMs });
      if (res.ok) {
        await res.body?.cancel();
        return { attempts: attempt, status: res.status };
      }
      last = `answered ${res.status}: ${await bodySnippet(res)}`;
      if (!retryableStatus(res.status)) throw new DeliveryRefused(`the webhook ${last} (not retried)`);
    } catch (err) {
      if (err instanceof DeliveryRefused) throw err;
      last = (err as Error).message;
    }
  }
  throw new CallFailed(`the webhook failed after ${config.maxAttempts} attempt${config.maxAttempts === 1 ? '' : 's'}; last: ${last}`);
}

/**
 * What a notifier sends: one notification, shaped for the receiver. Slack's
 * incoming webhooks read `text` (and blocks); Teams' read a MessageCard; a
 * generic receiver gets the notification as it is.
 */

export interface Notification {
  /** Same on every retry of one notification: sent as X-Tollgate-Delivery so a receiver can drop a repeat. */
  id?: string;
  title: string;
  text: string;
  /** What it is about, e.g. promotion.approved. */
  event: string;
  link?: string;
  at: string;
  /** What the event is about as data (an incident's fields), for a generic receiver. */
  data?: Record<string, unknown>;
}

export type NotifierFormat = 'generic' | 'slack' | 'teams';

export function notificationBody(format: NotifierFormat, n: Notification): Record<string, unknown> {
  if (format === 'slack') {
    const line = n.link ? `*${n.title}* <${n.link}|open>` : `*${n.title}*`;
    return { text: `${n.title}: ${n.text}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${line}\n${n.text}` } }] };
  }
  if (format === 'teams') {
    return {
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      summary: n.title,
      title: n.title,
      text: n.text,
      ...(n.link ? { potentialAction: [{ '@type': 'OpenUri', name: 'Open', targets: [{ os: 'default', uri: n.link }] }] } : {}),
    };
  }
  return { ...(n.id ? { id: n.id } : {}), event: n.event, title: n.title, text: n.text, link: n.link ?? null, at: n.at, ...(n.data ? { data: n.data } : {}) };
}

/** The header a signed delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'X-Tollgate-Signature';

/** The header naming the notification a delivery carries (its id): a retried delivery repeats it. */
export const DELIVERY_HEADER = 'X-Tollgate-Delivery';

export function signedContent(timestamp: number, body: string): string {
  return `${timestamp}.${body}`;
}

export function signatureHeaderValue(timestamp: number, hexMac: string): string {
  return `t=${timestamp},v1=${hexMac}`;
}

/** Whether a delivery's answer is worth another attempt: the receiver was down or busy, not refusing. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Backoff before attempt `n` (2, 3 …): 200 ms doubling, at most 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5_000, 200 * 2 ** Math.max(0, attempt - 2));
}

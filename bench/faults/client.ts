import { sleep } from './stack';

/** A keyed request as a careful client sends it: retried with the same Idempotency-Key until it is acknowledged. */
export interface KeyedRequest {
  method: 'POST' | 'PATCH';
  path: string;
  token: string;
  key: string;
  body?: unknown;
}

export interface RetryPolicy {
  /** Give up on a request after this long (bounded retries). */
  deadlineMs: number;
  /** One attempt is abandoned (and retried with the same key) after this long. */
  attemptTimeoutMs: number;
  /** The longest pause between attempts (2 s unless set; probes poll faster to time a recovery closely). */
  maxBackoffMs?: number;
}

export type Outcome =
  | { kind: 'ack'; status: number; body: any; attempts: number; ms: number }
  /** A 4xx other than 429: the API refused the request; retrying the same request cannot help. */
  | { kind: 'refused'; status: number; text: string; attempts: number }
  | { kind: 'gave_up'; last: string; attempts: number };

/** What the retries ran into, across every request of a run. */
export class RetryStats {
  attempts = 0;
  retried = 0;
  /** Answers that were not 2xx, by status (or `network` / `timeout`). */
  readonly causes = new Map<string, number>();

  note(cause: string): void {
    this.causes.set(cause, (this.causes.get(cause) ?? 0) + 1);
  }

  count(cause: string): number {
    return this.causes.get(cause) ?? 0;
  }

  summary(): Record<string, number> {
    return Object.fromEntries([...this.causes].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/**
 * 2xx is an acknowledgement. 503 and 502/504 (an outage), 429, a network error
 * or a timed-out attempt are retried with the same key. A 500 is retried too —
 * the key makes that safe — but counted, because an outage should answer 503.
 */
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

export async function sendKeyed(baseUrl: string, request: KeyedRequest, policy: RetryPolicy, stats: RetryStats): Promise<Outcome> {
  const started = Date.now();
  const deadline = started + policy.deadlineMs;
  let last = '';
  for (let attempt = 1; ; attempt++) {
    stats.attempts++;
    const maxBackoff = policy.maxBackoffMs ?? 2_000;
    let wait = Math.min(maxBackoff, 100 * 2 ** Math.min(attempt, 5));
    try {
      const res = await fetch(`${baseUrl}${request.path}`, {
        method: request.method,
        headers: {
          authorization: `Bearer ${request.token}`,
          'idempotency-key': request.key,
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(Math.max(1, Math.min(policy.attemptTimeoutMs, deadline - Date.now()))),
      });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) return { kind: 'ack', status: res.status, body: JSON.parse(text), attempts: attempt, ms: Date.now() - started };
      if (!RETRYABLE.has(res.status)) return { kind: 'refused', status: res.status, text: text.slice(0, 500), attempts: attempt };
      stats.note(String(res.status));
      last = `${res.status} ${text.slice(0, 200)}`;
      const retryAfter = Number(res.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.min(maxBackoff, retryAfter * 1000);
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      stats.note(timedOut ? 'timeout' : 'network');
      last = timedOut ? `no answer within ${policy.attemptTimeoutMs} ms` : `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`.trim();
    }
    if (Date.now() + wait >= deadline) return { kind: 'gave_up', last, attempts: attempt };
    stats.retried++;
    await sleep(wait);
  }
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds at which the current window ends. */
  resetAt: number;
}

/**
 * Fixed-window counter per key, in memory: one replica's own count. The API
 * keeps users' and tenants' counters in Postgres (store/rate-limit-counters.ts)
 * so replicas share them; this one serves what is per replica by nature, such
 * as a load balancer's health probes, which reach every replica.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(private readonly windowMs: number) {}

  take(key: string, limit: number, now: number): RateDecision {
    const start = now - (now % this.windowMs);
    this.sweep(start);
    let window = this.windows.get(key);
    if (!window || window.start !== start) {
      window = { start, count: 0 };
      this.windows.set(key, window);
    }
    const allowed = window.count < limit;
    if (allowed) window.count += 1;
    return { allowed, limit, remaining: Math.max(0, limit - window.count), resetAt: start + this.windowMs };
  }

  private sweep(currentStart: number): void {
    if (currentStart - this.lastSweep < this.windowMs * 10) return;
    this.lastSweep = currentStart;
    for (const [key, window] of this.windows) if (window.start < currentStart) this.windows.delete(key);
  }
}

/**
 * The decision for a request that made a shared window's count `count` (this
 * request's cost included; refused requests are counted too, so the count
 * may pass the limit): allowed while the count is within the limit.
 */
export function decisionOf(count: number, limit: number, windowEnd: number): RateDecision {
  return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetAt: windowEnd };
}

/** Of several decisions, the one a client must respect: a denial, else the tightest remaining. */
export function strictest(decisions: RateDecision[]): RateDecision {
  const denied = decisions.filter((d) => !d.allowed);
  const pool = denied.length ? denied : decisions;
  return pool.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetAt > a.resetAt) ? b : a));
}

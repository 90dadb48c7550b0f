export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds at which the current window ends. */
  resetAt: number;
}

/**
 * Fixed-window counter per key. In memory, so each API replica enforces its
 * own share; a shared store is the next step when running several replicas.
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

/** Of several decisions, the one a client must respect: a denial, else the tightest remaining. */
export function strictest(decisions: RateDecision[]): RateDecision {
  const denied = decisions.filter((d) => !d.allowed);
  const pool = denied.length ? denied : decisions;
  return pool.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetAt > a.resetAt) ? b : a));
}

import type { Pool } from '../platform/db';
import { decisionOf, type RateDecision } from '../domain/rate-limit';

export interface Charge {
  key: string;
  limit: number;
  /** How much this request spends: 1 a request, or a bulk request's records. */
  cost: number;
}

export interface SharedDecisions {
  /** The database's clock when it counted, epoch milliseconds (Retry-After is measured from it). */
  now: number;
  /** One per charge, in order; a later charge is absent when an earlier one refused the request (it was not spent). */
  decisions: RateDecision[];
}

// One statement per request: the window (on the database's clock, so replicas agree on it), the first key's
// upsert, and the second key's only when the first allowed the request, so a user over their limit does not
// spend their tenant's budget. A null second key charges nothing.
const TAKE = `
WITH w AS (
  SELECT t.now_ms, t.now_ms - t.now_ms % $2::bigint AS start
    FROM (SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms) t
), first AS (
  INSERT INTO rate_limit_counters AS c (key, window_start, window_end, count)
  SELECT $1, w.start, w.start + $2::bigint, $3 FROM w
  ON CONFLICT (key, window_start) DO UPDATE SET count = c.count + EXCLUDED.count
  RETURNING count
), second AS (
  INSERT INTO rate_limit_counters AS c (key, window_start, window_end, count)
  SELECT $5, w.start, w.start + $2::bigint, $6 FROM w, first WHERE $5::text IS NOT NULL AND first.count <= $4
  ON CONFLICT (key, window_start) DO UPDATE SET count = c.count + EXCLUDED.count
  RETURNING count
)
SELECT w.now_ms, w.start + $2::bigint AS window_end, first.count AS first, (SELECT count FROM second) AS second FROM w, first`;

/** How often a replica deletes the windows that have ended (each replica does; a delete that finds nothing is cheap). */
const SWEEP_EVERY_MS = 10_000;

/**
 * Fixed-window counters in Postgres, shared by every API replica. `prefix`
 * names the deployment whose replicas share them (its task queue), so two
 * deployments on one database never spend each other's budgets.
 */
export class SharedRateLimiter {
  private lastSweep = 0;

  constructor(
    private readonly pool: Pool,
    private readonly prefix: string,
    private readonly onSweepError: (err: unknown) => void = () => undefined,
  ) {}

  /** Counts one request against one charge, or two (a user's then their tenant's), in one round trip. */
  async take(windowMs: number, first: Charge, second?: Charge): Promise<SharedDecisions> {
    const { rows } = await this.pool.query<{ now_ms: number; window_end: number; first: number; second: number | null }>({
      name: 'rate-limit-take',
      text: TAKE,
      values: [`${this.prefix}:${first.key}`, windowMs, first.cost, first.limit, second ? `${this.prefix}:${second.key}` : null, second?.cost ?? 0],
    });
    const row = rows[0]!;
    this.sweep(row.now_ms);
    const decisions = [decisionOf(row.first, first.limit, row.window_end)];
    if (second && row.second !== null) decisions.push(decisionOf(row.second, second.limit, row.window_end));
    return { now: row.now_ms, decisions };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    this.pool.query('DELETE FROM rate_limit_counters WHERE window_end < $1', [now]).catch(this.onSweepError);
  }
}

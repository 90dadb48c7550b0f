import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { strictest, type RateDecision } from '../../domain/rate-limit';
import type { AppEnv } from '../context';
import { TooManyRequests } from '../errors';

const HEALTH_PATH = /^\/(api\/v1|prod\/api(\/v1)?)\/health$/;
// Bulk endpoints carry up to 100 records a request: they spend a budget of records, not the per-request one.
const BULK_PATH = /^\/(api\/v1|prod\/api(\/v1)?)\/(incidents|cmdb\/cis)\/bulk$/;

type Scoped = RateDecision & { scope: string };

/**
 * Per user (token subject) and per tenant limits, from config, counted in
 * Postgres so every replica spends the same budget; anonymous callers (and
 * bad tokens) are limited per client address. Every request is counted,
 * refused ones included, and every response carries the X-RateLimit-*
 * headers of the tighter limit.
 *
 * A bulk POST spends records from a budget of its own: one here (so a
 * refused or malformed one costs too), the rest once its body has been read
 * (chargeBulkRecords).
 *
 * Health probes have a bucket of their own per address, in this replica's
 * memory: a load balancer probes each replica, probes often share an address
 * (a proxy) with clients, and a flood of bad tokens from there must not turn
 * the probes' answer into a 429, nor a database outage into anything but
 * health's own report of it.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { limiter, sharedLimiter, config } = c.get('deps');
  const principal = c.get('principal');
  if (HEALTH_PATH.test(c.req.path)) {
    const now = Date.now();
    return enforce(c, [{ scope: 'client address (health)', ...limiter.take(`health:${clientAddress(c)}`, config.RATE_LIMIT_USER, now) }], now, next);
  }
  if (principal && c.req.method === 'POST' && BULK_PATH.test(c.req.path)) {
    const { now, decisions } = await sharedLimiter.take(config.RATE_LIMIT_BULK_WINDOW, { key: recordsKey(principal), limit: config.RATE_LIMIT_BULK_RECORDS, cost: 1 });
    return enforce(c, [{ scope: 'user (bulk records)', ...decisions[0]! }], now, next);
  }
  if (principal) {
    const { now, decisions } = await sharedLimiter.take(
      config.RATE_LIMIT_WINDOW,
      { key: `u:${principal.tenantId}:${principal.userId}`, limit: config.RATE_LIMIT_USER, cost: 1 },
      { key: `t:${principal.tenantId}`, limit: config.RATE_LIMIT_TENANT, cost: 1 },
    );
    return enforce(c, decisions.map((d, i) => ({ scope: i === 0 ? 'user' : 'tenant', ...d })), now, next);
  }
  const { now, decisions } = await sharedLimiter.take(config.RATE_LIMIT_WINDOW, { key: `ip:${clientAddress(c)}`, limit: config.RATE_LIMIT_USER, cost: 1 });
  return enforce(c, [{ scope: 'client address', ...decisions[0]! }], now, next);
});

/**
 * Spends the rest of a bulk request's records (the middleware spent one), once
 * its body is known and before anything else is checked: a request refused
 * later (403, a reused Idempotency-Key) has still spent them.
 */
export async function chargeBulkRecords(c: Context<AppEnv>, records: number): Promise<void> {
  const principal = c.get('principal');
  if (!principal || records <= 1) return;
  const { sharedLimiter, config } = c.get('deps');
  const { now, decisions } = await sharedLimiter.take(config.RATE_LIMIT_BULK_WINDOW, { key: recordsKey(principal), limit: config.RATE_LIMIT_BULK_RECORDS, cost: records - 1 });
  await enforce(c, [{ scope: 'user (bulk records)', ...decisions[0]! }], now, async () => undefined);
}

const recordsKey = (p: { tenantId: string; userId: string }) => `r:${p.tenantId}:${p.userId}`;

async function enforce(c: Context<AppEnv>, decisions: Scoped[], now: number, next: () => Promise<void>): Promise<void> {
  const decision = strictest(decisions) as Scoped;
  c.header('X-RateLimit-Limit', String(decision.limit));
  c.header('X-RateLimit-Remaining', String(decision.remaining));
  c.header('X-RateLimit-Reset', String(Math.ceil(decision.resetAt / 1000)));
  if (!decision.allowed) throw new TooManyRequests(Math.max(1, Math.ceil((decision.resetAt - now) / 1000)), decision.scope);
  await next();
}

function clientAddress(c: Parameters<typeof getConnInfo>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

import { getConnInfo } from '@hono/node-server/conninfo';
import { createMiddleware } from 'hono/factory';
import { strictest } from '../../domain/rate-limit';
import type { AppEnv } from '../context';
import { TooManyRequests } from '../errors';

const HEALTH_PATH = /^\/(api\/v1|prod\/api(\/v1)?)\/health$/;
// Bulk endpoints carry up to 100 records a request and are not subject to the per-request limit (StackFlow overview).
const BULK_PATH = /^\/(api\/v1|prod\/api(\/v1)?)\/incidents\/bulk$/;

/**
 * Per user (token subject) and per tenant limits, from config; anonymous
 * callers are limited per client address. Every response carries the
 * X-RateLimit-* headers of the tighter limit.
 *
 * Health probes have a bucket of their own per address: load balancers and
 * probes often share an address (a proxy) with clients, and a flood of bad
 * tokens from there must not turn the probes' answer into a 429.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { limiter, config } = c.get('deps');
  const principal = c.get('principal');
  if (principal && c.req.method === 'POST' && BULK_PATH.test(c.req.path)) return next();
  const now = Date.now();
  const decisions = HEALTH_PATH.test(c.req.path)
    ? [{ scope: 'client address (health)', ...limiter.take(`health:${clientAddress(c)}`, config.RATE_LIMIT_USER, now) }]
    : principal
      ? [
          { scope: 'user', ...limiter.take(`u:${principal.tenantId}:${principal.userId}`, config.RATE_LIMIT_USER, now) },
          { scope: 'tenant', ...limiter.take(`t:${principal.tenantId}`, config.RATE_LIMIT_TENANT, now) },
        ]
      : [{ scope: 'client address', ...limiter.take(`ip:${clientAddress(c)}`, config.RATE_LIMIT_USER, now) }];
  const decision = strictest(decisions) as (typeof decisions)[number];
  c.header('X-RateLimit-Limit', String(decision.limit));
  c.header('X-RateLimit-Remaining', String(decision.remaining));
  c.header('X-RateLimit-Reset', String(Math.ceil(decision.resetAt / 1000)));
  if (!decision.allowed) throw new TooManyRequests(Math.max(1, Math.ceil((decision.resetAt - now) / 1000)), decision.scope);
  await next();
});

function clientAddress(c: Parameters<typeof getConnInfo>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

import { getConnInfo } from '@hono/node-server/conninfo';
import { createMiddleware } from 'hono/factory';
import { strictest } from '../../domain/rate-limit';
import type { AppEnv } from '../context';
import { TooManyRequests } from '../errors';

/**
 * Per user (token subject) and per tenant limits, from config; anonymous
 * callers are limited per client address. Every response carries the
 * X-RateLimit-* headers of the tighter limit.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { limiter, config } = c.get('deps');
  const principal = c.get('principal');
  const now = Date.now();
  const decisions = principal
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

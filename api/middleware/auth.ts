import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context';
import { ApiError, Unauthorized } from '../errors';

/** Paths anyone may call: probes, the API description, metrics scrapes, the web console's files (its app sends a token itself). */
export function isPublicPath(path: string): boolean {
  return (
    /^\/(api\/v1|prod\/api(\/v1)?)\/health$/.test(path) ||
    /^\/(api\/v1|prod\/api(\/v1)?)\/openapi\.json$/.test(path) ||
    /^\/(api\/v1|prod\/api(\/v1)?)\/evidence\/jwks\.json$/.test(path) ||
    path === '/docs' ||
    path.startsWith('/docs/') ||
    path === '/metrics' ||
    path === '/console' ||
    path.startsWith('/console/') ||
    path === '/'
  );
}

// A JWT, or an agent's own credential (api/auth/agent-credentials.ts).
const BEARER = /^Bearer\s+([A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]*\.[A-Za-z0-9\-_+/=]*|tga_[A-Za-z0-9_-]+)\s*$/i;

/** The bearer token the request was authenticated with (for a handler that must know which token, not only whose). */
export function bearerTokenOf(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('authorization');
  return header ? BEARER.exec(header)?.[1] : undefined;
}

/**
 * Resolves the caller from the bearer token without failing yet, so the rate
 * limiter can key on the user; `requireAuth` then refuses anonymous calls.
 */
export const identify = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('authorization');
  if (!header) {
    c.set('authError', new Unauthorized('A bearer token is required (Authorization: Bearer <JWT>)', 'TOKEN_MISSING'));
  } else {
    const token = bearerTokenOf(c);
    if (!token) {
      c.set('authError', new Unauthorized('The Authorization header must be "Bearer <JWT>"', 'TOKEN_INVALID'));
    } else {
      try {
        c.set('principal', await c.get('deps').verifier.verify(token, c.get('deps').pool));
      } catch (err) {
        c.set('authError', err instanceof ApiError ? err : new Unauthorized());
      }
    }
  }
  await next();
});

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  if (!isPublicPath(c.req.path) && !c.get('principal')) throw c.get('authError') ?? new Unauthorized();
  await next();
});

import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import { dialectOf, type AppDeps, type AppEnv } from '../context';

const VALID_REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

/**
 * First middleware: request id (a valid incoming X-Request-Id is echoed),
 * dialect, a request-scoped logger, and on the way out the access log line
 * and the Prometheus observations.
 */
export function requestContext(deps: AppDeps) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('deps', deps);
    c.set('requestId', requestId);
    c.set('dialect', dialectOf(c.req.path));
    c.set('log', deps.log.child({ requestId }));
    c.header('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const status = c.res.status;
      const route = routeLabel(c);
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.requests.inc({ method: c.req.method, route, status: String(status) });
      deps.metrics.duration.observe({ method: c.req.method, route, status: String(status) }, seconds);
      const principal = c.get('principal');
      const line = {
        requestId,
        tenant: principal?.tenantId,
        user: principal?.userId,
        method: c.req.method,
        path: c.req.path,
        route,
        status,
        latencyMs: Math.round(seconds * 10_000) / 10,
      };
      if (status >= 500) deps.log.error(line, 'request');
      else deps.log.info(line, 'request');
    }
  });
}

function routeLabel(c: Parameters<typeof routePath>[0]): string {
  const path = routePath(c, -1);
  // Unmatched paths must not become unbounded label values.
  return !path || path === '*' || path === '/*' ? 'unmatched' : path;
}

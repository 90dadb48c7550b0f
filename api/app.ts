import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { DomainError } from '../domain/errors';
import { dialectOf, type AppDeps, type AppEnv } from './context';
import { mountDocs } from './docs';
import { mountConsole } from './modules/console';
import { ApiError, BadRequest, fromDomainFailure, NotFound, PayloadTooLarge, UnsupportedMediaType } from './errors';
import { identify, requireAuth } from './middleware/auth';
import { rateLimit } from './middleware/rate-limit';
import { requestContext } from './middleware/request-context';
import { modules } from './modules';
import { ARTIFACT_UPLOAD_PATH } from './modules/agents/agents.routes';
import { codecCors } from './modules/temporal-codec';
import { errorBody } from './respond';
import { mapTemporalError } from './temporal-errors';
import { mapDatabaseError } from './database-errors';

/** The API's three mount points: Stella's /api/v1 and StackFlow's /prod/api/v1 with its /prod/api alias. */
export const PREFIXES = ['/api/v1', '/prod/api/v1', '/prod/api'] as const;

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requestContext(deps));
  // Hono hands onError only what is `instanceof Error` here; anything else thrown (a plain value, or an
  // Error from another realm such as Node's own socket errors under jest's VM) would become a bare 500
  // without the envelope. Wrapped, it reaches toApiError, which finds the original through `cause`.
  app.use('*', async (_c, next) => {
    try {
      await next();
    } catch (err) {
      throw err instanceof Error ? err : new Error('A value that is not an Error was thrown', { cause: err });
    }
  });
  // Before auth: a browser's CORS preflight carries no token.
  app.use('*', codecCors);
  app.use('*', identify);
  app.use('*', rateLimit);
  app.use('*', requireAuth);
  const methodsOf = routeMethods(app);
  app.use('*', async (c, next) => {
    const methods = methodsOf(c.req.path);
    if (methods.length === 0 || methods.includes(c.req.method === 'HEAD' ? 'GET' : c.req.method)) return next();
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
    if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allow });
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${c.req.path} does not support ${c.req.method}; it supports ${allow}`, { allow: allow.split(', ') }, undefined, {
      Allow: allow,
    });
  });
  const limitBody = bodyLimit({
    maxSize: deps.config.BODY_LIMIT_BYTES,
    onError: () => {
      throw new PayloadTooLarge(deps.config.BODY_LIMIT_BYTES);
    },
  });
  // An agent's artifact upload is a file, not a JSON body: it has a limit of its own.
  const limitArtifact = bodyLimit({
    maxSize: deps.config.ARTIFACT_MAX_BYTES,
    onError: () => {
      throw new PayloadTooLarge(deps.config.ARTIFACT_MAX_BYTES);
    },
  });
  // A GET or HEAD never has a body here, and asking for one makes @hono/node-server build a full Request (AbortController, Headers) per call.
  app.use('*', (c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : c.req.method === 'PUT' && ARTIFACT_UPLOAD_PATH.test(c.req.path) ? limitArtifact(c, next) : limitBody(c, next),
  );

  const routers = modules.map((m) => m());
  for (const prefix of PREFIXES) for (const router of routers) app.route(prefix, router);

  mountDocs(app, routers);
  mountConsole(app);
  app.get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType }));
  app.get('/', (c) => c.redirect('/docs'));

  app.notFound((c) => renderError(c, new NotFound(`No route for ${c.req.method} ${c.req.path}`, 'ROUTE_NOT_FOUND')));
  app.onError((err, c) => renderError(c, toApiError(err, c)));
  return app;
}

/**
 * The methods the app serves at a path, read from the app's own route table
 * (once, at the first request, when every route is registered), so a known
 * path asked with another method is a 405 naming them (Allow) rather than a
 * 404. As in OpenAPI, a concrete path (/releases/from-latest) is a resource of
 * its own, not an instance of a templated one (/releases/{id}) that would
 * otherwise catch it.
 */
function routeMethods(app: OpenAPIHono<AppEnv>): (path: string) => string[] {
  let bySegments: Map<number, Array<{ pattern: RegExp; method: string; params: number }>> | undefined;
  const index = () => {
    const map = new Map<number, Array<{ pattern: RegExp; method: string; params: number }>>();
    for (const r of app.routes) {
      if (r.method === 'ALL' || r.path.includes('*')) continue;
      const segments = r.path.split('/');
      const entry = { method: r.method.toUpperCase(), pattern: new RegExp(`^${segments.map(segmentPattern).join('/')}$`), params: segments.filter((seg) => seg.startsWith(':')).length };
      map.set(segments.length, [...(map.get(segments.length) ?? []), entry]);
    }
    return map;
  };
  return (path) => {
    bySegments ??= index();
    const matches = (bySegments.get(path.split('/').length) ?? []).filter((r) => r.pattern.test(path));
    if (matches.length === 0) return [];
    const fewest = Math.min(...matches.map((r) => r.params));
    return [...new Set(matches.filter((r) => r.params === fewest).map((r) => r.method))];
  };
}

const segmentPattern = (segment: string) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'));

function toApiError(err: unknown, c: Context<AppEnv>): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return fromDomainFailure(err.kind, err.code, err.message, err.details);
  if (err instanceof HTTPException) {
    if (err.status === 415) return new UnsupportedMediaType();
    if (err.status === 413) return new PayloadTooLarge(c.get('deps').config.BODY_LIMIT_BYTES);
    if (err.status === 400 && /json/i.test(err.message)) return new BadRequest('The request body is not valid JSON', 'MALFORMED_JSON');
    if (err.status < 500) return new ApiError(err.status, 'BAD_REQUEST', err.message || 'Bad request');
  }
  const mapped = mapTemporalError(err) ?? mapDatabaseError(err);
  if (mapped) return mapped;
  (c.get('log') ?? c.get('deps').log).error({ err }, 'unhandled error');
  return new ApiError(500, 'INTERNAL_ERROR', 'An unexpected error occurred; it has been logged with this request id');
}

function renderError(c: Context<AppEnv>, err: ApiError): Response {
  const requestId = c.get('requestId');
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.json(errorBody(c.get('dialect') ?? dialectOf(c.req.path), err, requestId), err.status as 400);
}

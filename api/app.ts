import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { DomainError } from '../domain/errors';
import { dialectOf, type AppDeps, type AppEnv } from './context';
import { mountDocs } from './docs';
import { ApiError, BadRequest, fromDomainFailure, NotFound, PayloadTooLarge, UnsupportedMediaType } from './errors';
import { identify, requireAuth } from './middleware/auth';
import { rateLimit } from './middleware/rate-limit';
import { requestContext } from './middleware/request-context';
import { modules } from './modules';
import { errorBody } from './respond';
import { mapTemporalError } from './temporal-errors';

/** The API's three mount points: Stella's /api/v1 and StackFlow's /prod/api/v1 with its /prod/api alias. */
export const PREFIXES = ['/api/v1', '/prod/api/v1', '/prod/api'] as const;

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requestContext(deps));
  app.use('*', identify);
  app.use('*', rateLimit);
  app.use('*', requireAuth);
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.BODY_LIMIT_BYTES,
      onError: () => {
        throw new PayloadTooLarge(deps.config.BODY_LIMIT_BYTES);
      },
    }),
  );

  const routers = modules.map((m) => m());
  for (const prefix of PREFIXES) for (const router of routers) app.route(prefix, router);

  const docApp = new OpenAPIHono<AppEnv>();
  for (const router of routers) docApp.route('/api/v1', router);
  docApp.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT from the configured issuer; locally: npm run token -- --user alice --tenant acme --roles release-manager',
  });
  const document = docApp.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Tollgate API',
      version: '1.0.0',
      description:
        'Release and change orchestration. Every path below is also served in the StackFlow dialect under /prod/api/v1 and /prod/api ' +
        '(bare resources, lists as {data, next_cursor, total}, cursor/limit pagination).',
    },
    security: [{ bearerAuth: [] }],
  });
  app.get('/api/v1/openapi.json', (c) => c.json(document));
  mountDocs(app);
  app.get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType }));
  app.get('/', (c) => c.redirect('/docs'));

  app.notFound((c) => renderError(c, new NotFound(`No route for ${c.req.method} ${c.req.path}`, 'ROUTE_NOT_FOUND')));
  app.onError((err, c) => renderError(c, toApiError(err, c)));
  return app;
}

function toApiError(err: unknown, c: Context<AppEnv>): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return fromDomainFailure(err.kind, err.code, err.message, err.details);
  if (err instanceof HTTPException) {
    if (err.status === 415) return new UnsupportedMediaType();
    if (err.status === 413) return new PayloadTooLarge(c.get('deps').config.BODY_LIMIT_BYTES);
    if (err.status === 400 && /json/i.test(err.message)) return new BadRequest('The request body is not valid JSON', 'MALFORMED_JSON');
    if (err.status < 500) return new ApiError(err.status, 'BAD_REQUEST', err.message || 'Bad request');
  }
  const mapped = mapTemporalError(err);
  if (mapped) return mapped;
  (c.get('log') ?? c.get('deps').log).error({ err }, 'unhandled error');
  return new ApiError(500, 'INTERNAL_ERROR', 'An unexpected error occurred; it has been logged with this request id');
}

function renderError(c: Context<AppEnv>, err: ApiError): Response {
  const requestId = c.get('requestId');
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.json(errorBody(c.get('dialect') ?? dialectOf(c.req.path), err, requestId), err.status as 400);
}

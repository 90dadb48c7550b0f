import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import { dialectOf, type AppEnv } from './context';
import { renderRoute } from './openapi-helpers';

const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png'] as const;
const TYPES: Record<string, string> = { '.css': 'text/css', '.js': 'application/javascript', '.png': 'image/png' };

/** Where each dialect's document is served; the StackFlow one under both of its prefixes. */
export const DOCUMENT_PATHS = ['/api/v1/openapi.json', '/prod/api/openapi.json', '/prod/api/v1/openapi.json'] as const;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate API</title>
<link rel="icon" href="/docs/favicon-32x32.png"><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ urls: [
    { url: '/api/v1/openapi.json', name: 'Stella dialect (/api/v1)' },
    { url: '/prod/api/openapi.json', name: 'StackFlow dialect (/prod/api)' } ],
  dom_id: '#ui', persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });</script>
</body></html>`;

/** A WebSocket is no operation: the dashboard's stream, which no other route's text can name, is described here. */
const DASHBOARD_STREAM =
  ' The dashboard stream is the WebSocket `GET {prefix}/dashboard/stream` (bearer token in the Authorization header, or `?access_token=` ' +
  'from a browser; 401, 403 and 400 before the upgrade): the tenant’s events as `{type: "event", id, event, subject, at, data}` — ' +
  'promotion.status, promotion.approval, deployment.job, deployment.target, freeze.started, freeze.ended, incident.sla_warning, ' +
  'incident.sla_breach, rollout.step — each family only to callers who may read its records. Resume with `?lastEventId=`, a Last-Event-ID ' +
  'header or a first message `{"type": "resume", "lastEventId"}`: every event after it, then live ones; `{type: "ready"}` ends the replay, ' +
  '`{type: "gap"}` says events past retention are gone. A client that stays too far behind is closed with 4008.';

const DESCRIPTIONS = {
  stella:
    'Release and change orchestration, in the Stella dialect: every answer is an envelope ' +
    '({success, data, meta}; errors {success: false, error: {code, message, details?, validationErrors?}, meta}), ' +
    'lists page by page/pageSize with meta.pagination. The same operations are served in the StackFlow dialect under /prod/api ' +
    '(document: /prod/api/openapi.json).' +
    DASHBOARD_STREAM.replace('{prefix}', '/api/v1'),
  stackflow:
    'Release and change orchestration, in the StackFlow dialect: bare resources, lists as {data, next_cursor, total} paged by ' +
    'cursor/limit, errors as {error: {code, message, details?, validation_errors?}, request_id}. Served under /prod/api and /prod/api/v1; ' +
    'the same operations in the Stella envelope are under /api/v1 (document: /api/v1/openapi.json).' +
    DASHBOARD_STREAM.replace('{prefix}', '/prod/api'),
};

/**
 * One OpenAPI 3.1 document per mount point, each rendered from the same route
 * declarations the module routers serve (renderRoute gives a declaration its
 * dialect's bodies and parameters), so a new route appears in every document.
 */
export function buildDocument(routers: readonly OpenAPIHono<AppEnv>[], prefix: string): Record<string, unknown> {
  const dialect = dialectOf(prefix);
  const doc = new OpenAPIHono<AppEnv>();
  for (const router of routers) {
    for (const def of router.openAPIRegistry.definitions) {
      if (def.type === 'route') doc.openAPIRegistry.registerPath(renderRoute({ ...def.route, path: `${prefix}${def.route.path}` }, dialect));
      else if (def.type === 'component') doc.openAPIRegistry.registerComponent(def.componentType, def.name, def.component);
    }
  }
  doc.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT from the configured issuer; locally: npm run token -- --user alice --tenant acme --roles release-manager',
  });
  return doc.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: `Tollgate API (${dialect === 'stella' ? 'Stella' : 'StackFlow'} dialect)`, version: '1.0.0', description: DESCRIPTIONS[dialect] },
    security: [{ bearerAuth: [] }],
  }) as unknown as Record<string, unknown>;
}

/** The documents, and browsable docs at /docs served from the swagger-ui-dist package (no CDN needed). */
export function mountDocs(app: OpenAPIHono<AppEnv>, routers: readonly OpenAPIHono<AppEnv>[]): void {
  for (const at of DOCUMENT_PATHS) {
    const document = buildDocument(routers, at.slice(0, -'/openapi.json'.length));
    app.get(at, (c) => c.json(document));
  }
  const dir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const files = new Map(ASSETS.map((name) => [name, readFileSync(path.join(dir, name))]));
  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/:asset', (c) => {
    const name = c.req.param('asset');
    const body = files.get(name as (typeof ASSETS)[number]);
    if (!body) return c.notFound();
    return c.body(new Uint8Array(body), 200, { 'Content-Type': TYPES[path.extname(name)], 'Cache-Control': 'public, max-age=86400' });
  });
}

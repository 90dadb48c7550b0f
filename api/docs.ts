import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context';

const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png'] as const;
const TYPES: Record<string, string> = { '.css': 'text/css', '.js': 'application/javascript', '.png': 'image/png' };

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate API</title>
<link rel="icon" href="/docs/favicon-32x32.png"><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#ui', persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });</script>
</body></html>`;

/** Browsable docs at /docs, served from the swagger-ui-dist package (no CDN needed). */
export function mountDocs(app: OpenAPIHono<AppEnv>): void {
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

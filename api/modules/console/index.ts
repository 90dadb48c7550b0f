import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../context';
import { NotFound } from '../../errors';
import { CONSOLE_FILES, consoleAssets, type ConsoleFile } from './assets';

/**
 * The page may run only the console's own script and style, and talk only to
 * this origin (its API and the dashboard stream's WebSocket): an injected
 * <script> or inline handler does not run, and nothing can frame it.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const isConsoleFile = (name: string): name is ConsoleFile => Object.hasOwn(CONSOLE_FILES, name);

/**
 * GET /console (the page; the app routes by #hash) and GET /console/<file>.
 * No token is needed to load them: the app asks for one and sends it to the
 * API itself. Each answer carries an ETag and `no-cache`, so a browser checks
 * back (a 304 when unchanged) and a new version is picked up at once.
 */
export function mountConsole(app: OpenAPIHono<AppEnv>): void {
  const serve = async (c: Context<AppEnv>, name: string) => {
    if (!isConsoleFile(name) || name === 'index.html') throw new NotFound(`No console file ${c.req.path}`, 'ROUTE_NOT_FOUND');
    return send(c, name);
  };
  app.get('/console', (c) => send(c, 'index.html'));
  app.get('/console/', (c) => c.redirect('/console'));
  app.get('/console/:file', (c) => serve(c, c.req.param('file')));
}

async function send(c: Context<AppEnv>, name: ConsoleFile): Promise<Response> {
  const file = (await consoleAssets()).get(name)!;
  const headers: Record<string, string> = {
    'Content-Type': file.type,
    'Cache-Control': 'no-cache',
    ETag: file.etag,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  if (name === 'index.html') Object.assign(headers, { 'Content-Security-Policy': CONSOLE_CSP, 'X-Frame-Options': 'DENY' });
  const cached = c.req.header('if-none-match');
  if (cached && cached.split(',').some((tag) => tag.trim().replace(/^W\//, '') === file.etag)) return c.body(null, 304, headers);
  return c.body(new Uint8Array(file.body), 200, headers);
}

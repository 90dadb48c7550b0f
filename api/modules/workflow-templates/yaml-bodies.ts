import type { Context, Next } from 'hono';
import { parse } from 'yaml';
import type { AppEnv } from '../../context';
import { BadRequest } from '../../errors';

/**
 * Templates are often kept as YAML beside the code they release. A YAML body
 * is parsed here and handed on as the JSON it stands for, so it meets the
 * same route validation, limits and answers as a JSON body. Aliases are
 * bounded (the yaml package's default of 100), so a "billion laughs"
 * document cannot expand.
 */
const YAML_TYPE = /^application\/(?:x-)?yaml\s*(?:;|$)/i;

export async function yamlBodies(c: Context<AppEnv>, next: Next) {
  const type = c.req.header('content-type');
  if (!type || !YAML_TYPE.test(type)) return next();
  const text = await c.req.raw.text();
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (error) {
    const where = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new BadRequest(`The request body is not valid YAML${where ? ` (line ${where.line}, column ${where.col})` : ''}`, 'MALFORMED_YAML');
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: JSON.stringify(value ?? null) });
  return next();
}

import type { HttpResult, TestApp } from './app';

/** Shortcuts for the inventory tests (environments, targets, components, releases) over the Stella API. */

export const API = '/api/v1';

/** The environment body, as written. */
export const PRODUCTION = {
  name: 'Production',
  order: 3,
  requireSod: true,
  requiredApprovals: 2,
  securityThresholds: { maxCritical: 0, maxHigh: 5 },
  requireChangeRequest: false,
} as const;

/** The recurring freeze window, as written. */
export const WEEKEND = { name: 'Weekend', rrule: 'FREQ=WEEKLY;BYDAY=SA', timezone: 'Europe/Berlin', duration: 'PT48H' } as const;

export const digest = (seed: string) => `sha256:${Buffer.from(seed.padEnd(32, '.')).toString('hex').slice(0, 64)}`;

/** A unique name and pipeline position per call, so tests in one file never collide. */
let counter = 0;
export function unique(prefix: string): { name: string; order: number } {
  counter += 1;
  return { name: `${prefix}-${counter}`, order: 100 + counter };
}

/** The body of a 201/200, or a thrown error that shows what came back instead. */
export function expectStatus(res: HttpResult, status: number, what = ''): any {
  if (res.status !== status) throw new Error(`${what} expected ${status}, got ${res.status}: ${res.text}`);
  return res.body?.success === true ? res.body.data : res.body;
}

export async function post(app: TestApp, token: string, path: string, body?: unknown, status = 201): Promise<any> {
  return expectStatus(await app.http('POST', `${API}${path}`, { token, body }), status, `POST ${path}`);
}

export async function get(app: TestApp, token: string, path: string): Promise<any> {
  return expectStatus(await app.http('GET', `${API}${path}`, { token }), 200, `GET ${path}`);
}

export async function createEnvironment(app: TestApp, token: string, body: Record<string, unknown> = {}): Promise<any> {
  return post(app, token, '/environments', { ...unique('env'), ...body });
}

export async function createComponent(app: TestApp, token: string, versions: Array<{ version: string; digest?: string | null }> = [], body: Record<string, unknown> = {}): Promise<any> {
  const component = await post(app, token, '/components', { name: unique('component').name, repository: 'registry.example.com/x', ...body });
  if (versions.length) await post(app, token, `/components/${component.id}/sync-versions`, { versions }, 200);
  return component;
}

export async function createRelease(app: TestApp, token: string, components: Array<{ componentId: string; version: string }>, body: Record<string, unknown> = {}): Promise<any> {
  const name = unique('release').name;
  return post(app, token, '/releases', { name, version: '1.0.0', components, ...body });
}

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** Sends a body (raw text when a string, so escapes reach the server as written) and expects a 400 naming `field`. */
export async function refused(app: TestApp, token: string, method: string, path: string, body: unknown, field: string): Promise<FieldError[]> {
  const raw = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
  const res = await app.http(method, path.startsWith('/prod') ? path : `${API}${path}`, { token, raw, headers: raw === undefined ? {} : { 'content-type': 'application/json' } });
  if (res.status !== 400) throw new Error(`${method} ${path} ${raw ?? ''}: expected 400 naming ${field}, got ${res.status}: ${res.text}`);
  const error = res.body.error;
  expect(error.code).toBe('VALIDATION_FAILED');
  const errors: FieldError[] = error.validationErrors ?? error.validation_errors;
  if (!errors.some((e) => e.field === field)) throw new Error(`${method} ${path} ${raw ?? ''}: 400 does not name ${field}: ${res.text}`);
  return errors;
}

/** The error code of a refused request, after checking its status and envelope. */
export async function failure(app: TestApp, token: string, method: string, path: string, status: number, body?: unknown): Promise<{ code: string; message: string; details?: any }> {
  const res = await app.http(method, path.startsWith('/prod') ? path : `${API}${path}`, { token, body });
  if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${res.text}`);
  if (path.startsWith('/prod')) expect(res.body).toEqual({ error: expect.objectContaining({ code: expect.any(String) }), request_id: expect.any(String) });
  else expect(res.body).toMatchObject({ success: false, error: { code: expect.any(String), message: expect.any(String) }, meta: { requestId: expect.any(String) } });
  return res.body.error;
}

/** A JSON body with one field set to a lone-surrogate escape, as raw text. */
export function withLoneSurrogate(body: Record<string, unknown>, field: string): string {
  return JSON.stringify({ ...body, [field]: '__X__' }).replace('"__X__"', '"bad \\ud800"');
}

/** What the audit log holds for one resource, oldest first. */
export async function auditOf(app: TestApp, resourceId: string, tenant = app.tenant): Promise<Array<{ action: string; actor: string; resource_type: string; after: any; before: any }>> {
  const { rows } = await app.pool.query('SELECT action, actor, resource_type, before, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id', [tenant, resourceId]);
  return rows;
}

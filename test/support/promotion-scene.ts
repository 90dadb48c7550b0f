import { randomBytes, randomUUID } from 'node:crypto';
import type { HttpResult, TestApp, TokenOptions } from './app';
import { until } from './eventually';

/**
 * A tenant of its own for each promotion scenario, so environment names and
 * pipeline orders never collide inside one test file, with shortcuts for the
 * Stella API. Approvers get `viewer` (promotion:read) and their approver groups
 * through the token's `groups` claim unless a test says otherwise.
 */
export const API = '/api/v1';
export const newDigest = () => `sha256:${randomBytes(32).toString('hex')}`;

export interface Scene {
  app: TestApp;
  tenant: string;
  /** A release manager of the tenant: writes inventory and policies. */
  admin: string;
  token(user: string, options?: TokenOptions): Promise<string>;
  /** A member of `groups` (token `groups` claim) with the viewer role. */
  member(user: string, ...groups: string[]): Promise<string>;
  call(method: string, path: string, token?: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** The `data` of a response that must have `status`; anything else throws with what came back. */
  expect<T = any>(status: number, method: string, path: string, token?: string, body?: unknown): Promise<T>;
  /** The error (code, message, details) of a response that must fail with `status`. */
  refuse(status: number, method: string, path: string, token?: string, body?: unknown): Promise<{ code: string; message: string; details?: any }>;
}

export async function scene(app: TestApp, tenant = `t-${randomUUID().slice(0, 8)}`): Promise<Scene> {
  const token = (user: string, options: TokenOptions = {}) => app.token(user, { tenant, ...options });
  const admin = await token('admin@example.com', { roles: ['release-manager'] });
  const call = (method: string, path: string, t?: string, body?: unknown, headers?: Record<string, string>) =>
    app.http(method, path.startsWith('/') && !path.startsWith(API) && !path.startsWith('/prod') ? `${API}${path}` : path, { token: t, body, headers });
  const s: Scene = {
    app,
    tenant,
    admin,
    token,
    member: (user, ...groups) => token(user, { roles: ['viewer'], claims: { groups } }),
    call,
    async expect(status, method, path, t = admin, body) {
      const res = await call(method, path, t, body);
      if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${res.text}`);
      return res.body?.success === true ? res.body.data : res.body;
    },
    async refuse(status, method, path, t = admin, body) {
      const res = await call(method, path, t, body);
      if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${res.text}`);
      expect(res.body).toMatchObject({ success: false, error: { code: expect.any(String), message: expect.any(String) } });
      return res.body.error;
    },
  };
  return s;
}

export interface Stage {
  env: any;
  component: any;
  release: any;
  policy?: any;
}

export interface StageOptions {
  env?: Record<string, unknown>;
  release?: Record<string, unknown>;
  scan?: { criticalCount: number; highCount: number } | null;
  /** An approval policy for the environment (the spec's body; environmentId filled in). */
  policy?: Record<string, unknown>;
  /** The component's name (unique per scene). */
  component?: string;
}

/**
 * One environment (first in its pipeline unless `env.order` says otherwise),
 * a component with a synced version and a release of it, and optionally a policy.
 */
export async function stage(s: Scene, options: StageOptions = {}): Promise<Stage> {
  const name = options.component ?? `app${randomUUID().slice(0, 6)}`;
  const env = await s.expect(201, 'POST', '/environments', s.admin, { name: 'Production', order: 1, requiredApprovals: 1, ...options.env });
  const component = await s.expect(201, 'POST', '/components', s.admin, { name, repository: `registry.example.com/${name}` });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0', digest: newDigest() }] });
  const release = await s.expect(201, 'POST', '/releases', s.admin, {
    name: `${name}-v1.0.0`,
    version: '1.0.0',
    components: [{ componentId: component.id, version: '1.0.0' }],
    ...(options.scan !== undefined ? { securityScan: options.scan } : { securityScan: { criticalCount: 0, highCount: 0 } }),
    ...options.release,
  });
  const policy = options.policy ? await s.expect(201, 'POST', '/approval-policies', s.admin, { name: `${env.name} policy`, environmentId: env.id, ...options.policy }) : undefined;
  return { env, component, release, policy };
}

export async function request(s: Scene, token: string, st: Pick<Stage, 'env' | 'release'>, extra: Record<string, unknown> = {}): Promise<any> {
  return s.expect(201, 'POST', '/promotions', token, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it', ...extra });
}

export async function promotionOf(s: Scene, id: string): Promise<any> {
  return s.expect(200, 'GET', `/promotions/${id}`);
}

/** Waits until the promotion reaches `status` (and `more` holds of it), and returns it. */
export async function reaches(s: Scene, id: string, status: string, more: (p: any) => boolean = () => true, timeoutMs = 30_000): Promise<any> {
  let last: any;
  try {
    return await until(
      `promotion ${id} to be ${status}`,
      async () => {
        last = await promotionOf(s, id);
        return last.status === status && more(last) ? last : undefined;
      },
      timeoutMs,
      150,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify({ status: last?.status, statusReason: last?.statusReason, heldUntil: last?.heldUntil, gates: last?.gates })}`);
  }
}

/** A promotion created and opened for approval. */
export async function awaiting(s: Scene, token: string, st: Pick<Stage, 'env' | 'release'>, extra: Record<string, unknown> = {}): Promise<any> {
  const created = await request(s, token, st, extra);
  return reaches(s, created.id, 'awaiting_approval');
}

export const approve = (s: Scene, id: string, token: string, comment?: string) => s.call('POST', `/promotions/${id}/approve`, token, comment === undefined ? {} : { comment });

import type { TestApp } from './app';

/** A pipeline for promotion tests: environments, a component with a synced version, and a release of it. */
export interface Pipeline {
  admin: string;
  staging: any;
  production: any;
  component: any;
  release: any;
}

const DIGEST = (c: string) => `sha256:${c.repeat(64)}`;

export async function expectStatus<T = any>(res: Promise<{ status: number; body: T; text: string }>, status: number): Promise<T> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.text}`);
  return r.body;
}

export async function buildPipeline(
  app: TestApp,
  production: Record<string, unknown> = { requireSod: true, requiredApprovals: 2, securityThresholds: { maxCritical: 0, maxHigh: 5 } },
  scan: { criticalCount: number; highCount: number } = { criticalCount: 0, highCount: 3 },
): Promise<Pipeline> {
  const admin = await app.token('admin@example.com', { roles: ['release-manager'] });
  const post = (path: string, body: unknown) => expectStatus(app.http('POST', `/api/v1${path}`, { token: admin, body }), 201).then((b: any) => b.data);
  const staging = await post('/environments', { name: 'Staging', order: 2, requiredApprovals: 0 });
  const prod = await post('/environments', { name: 'Production', order: 3, requireChangeRequest: false, ...production });
  const component = await post('/components', { name: 'myapp', repository: 'registry.example.com/myapp' });
  await expectStatus(app.http('POST', `/api/v1/components/${component.id}/sync-versions`, { token: admin, body: { versions: [{ version: '2.3.1', digest: DIGEST('a') }] } }), 200);
  const release = await post('/releases', { name: 'myapp-v2.3.1', version: '2.3.1', components: [{ componentId: component.id, version: '2.3.1' }], class: 'standard', securityScan: scan });
  return { admin, staging, production: prod, component, release };
}

/** Promotes the release to staging (no approvals needed there) and waits until it is deployed. */
export async function deployToStaging(app: TestApp, p: Pipeline, until: (what: string, read: () => Promise<boolean>) => Promise<unknown>): Promise<string> {
  const created = await expectStatus<any>(app.http('POST', '/api/v1/promotions', { token: p.admin, body: { releaseId: p.release.id, targetEnvironmentId: p.staging.id, reason: 'to staging' } }), 201);
  const id = created.data.id;
  await until('staging promotion deployed', async () => (await app.http('GET', `/api/v1/promotions/${id}`, { token: p.admin })).body.data.status === 'deployed');
  return id;
}

export { DIGEST };

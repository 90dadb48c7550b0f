import { createChange, standardChange, step } from '../support/changes';
import { startTestApp, type TestApp } from '../support/app';
import { awaiting, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/** Another tenant's environment, release, policy and promotion do not exist for you: 404, and nothing of theirs moves. */
let app: TestApp;
let a: Scene;
let b: Scene;
let theirs: Stage;
let promotion: any;
let bToken: string;

beforeAll(async () => {
  app = await startTestApp();
  a = await scene(app);
  b = await scene(app);
  theirs = await stage(a, { policy: { requiredApprovals: 2, approverGroups: ['sre-team'] } });
  promotion = await awaiting(a, await a.token('dev@example.com', { roles: ['developer'] }), theirs);
  // A release manager of tenant B who is also in the approver group by name.
  bToken = await b.token('mallory@example.com', { roles: ['release-manager'], claims: { groups: ['sre-team'] } });
});
afterAll(() => app?.close());

const envBody = { name: 'Production', order: 1, requiredApprovals: 1 };

it('answers 404 for every read and write of another tenant’s environment, release and policy', async () => {
  const { env, release, policy } = theirs;
  const cases: Array<[string, string, unknown?]> = [
    ['GET', `/environments/${env.id}`],
    ['PUT', `/environments/${env.id}`, envBody],
    ['DELETE', `/environments/${env.id}`],
    ['GET', `/environments/${env.id}/freeze-windows`],
    ['POST', `/environments/${env.id}/freeze-windows`, { name: 'x', start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' }],
    ['GET', `/releases/${release.id}`],
    ['PUT', `/releases/${release.id}`, { securityScan: { criticalCount: 9, highCount: 9 } }],
    ['GET', `/releases/${release.id}/state`],
    ['POST', `/releases/${release.id}/deprecate`, {}],
    ['GET', `/approval-policies/${policy.id}`],
    ['PUT', `/approval-policies/${policy.id}`, { name: 'mine', environmentId: env.id, requiredApprovals: 0 }],
    ['DELETE', `/approval-policies/${policy.id}`],
  ];
  for (const [method, path, body] of cases) {
    const res = await b.call(method, path, bToken, body);
    if (res.status !== 404) throw new Error(`${method} ${path}: expected 404, got ${res.status}: ${res.text}`);
  }
  // Their rows are as they were.
  expect(await a.expect(200, 'GET', `/releases/${release.id}`)).toMatchObject({ securityScan: { criticalCount: 0, highCount: 0 }, status: 'ready', deprecatedAt: null });
  expect(await a.expect(200, 'GET', `/approval-policies/${policy.id}`)).toMatchObject({ version: 1, requiredApprovals: 2 });
  // Naming their environment in your own policy or promotion finds nothing either.
  expect((await b.refuse(422, 'POST', '/approval-policies', bToken, { name: 'p', environmentId: env.id, requiredApprovals: 1 })).code).toBe('ENVIRONMENT_NOT_FOUND');
  expect((await b.refuse(404, 'POST', '/promotions', bToken, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'x' })).code).toBe('RELEASE_NOT_FOUND');
  expect((await b.refuse(404, 'POST', '/promotions/preview-gates', bToken, { releaseId: release.id, targetEnvironmentId: env.id })).code).toBe('RELEASE_NOT_FOUND');
  const own = await stage(b);
  expect((await b.refuse(404, 'POST', '/promotions', bToken, { releaseId: own.release.id, targetEnvironmentId: env.id, reason: 'x' })).code).toBe('ENVIRONMENT_NOT_FOUND');
});

it('answers 404 for another tenant’s promotion, its records and its commands, and lists none of it', async () => {
  const id = promotion.id;
  for (const path of [`/promotions/${id}`, `/promotions/${id}/decision`, `/promotions/${id}/approvals`, `/promotions/${id}/evidence`]) {
    expect((await b.refuse(404, 'GET', path, bToken)).code).toBe('PROMOTION_NOT_FOUND');
  }
  for (const [command, body] of [['approve', {}], ['reject', { reason: 'no' }], ['cancel', {}]] as const) {
    expect((await b.refuse(404, 'POST', `/promotions/${id}/${command}`, bToken, body)).code).toBe('PROMOTION_NOT_FOUND');
  }
  expect(await b.expect(200, 'GET', '/promotions', bToken)).toEqual([]);
  expect(await b.expect(200, 'GET', `/promotions?releaseId=${theirs.release.id}`, bToken)).toEqual([]);
  expect(await b.expect(200, 'GET', '/my/pending-approvals', bToken)).toEqual([]);
  expect(await a.expect(200, 'GET', `/promotions/${id}`)).toMatchObject({ status: 'awaiting_approval', approvals: [] });
});

it('never links another tenant’s change request', async () => {
  const change = await createChange(app, a.admin, standardChange());
  expect((await step(app, a.admin, 'POST', `${change.id}/submit`)).state).toBe('scheduled');
  const own = await b.expect(201, 'POST', '/environments', bToken, { name: 'Gated', order: 5, requireChangeRequest: true });
  const preview = await b.expect(200, 'POST', '/promotions/preview-gates', bToken, { releaseId: (await stage(b, { env: { name: 'Dev', order: 0 } })).release.id, targetEnvironmentId: own.id, changeId: change.id });
  expect(preview.gates.find((g: any) => g.gateName === 'change-request-gate')).toMatchObject({ passed: false, message: `change ${change.id} was not found` });
});

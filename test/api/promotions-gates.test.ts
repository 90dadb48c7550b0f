import { createChange, HOUR, iso, MIN, standardChange, step } from '../support/changes';
import { startTestApp, type TestApp } from '../support/app';
import { approve, awaiting, promotionOf, reaches, request, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/**
 * Each gate passing and failing over HTTP, and the preview meeting exactly what
 * a real request meets: the 422's gate results, or the created promotion's.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const THRESHOLDS = { maxCritical: 0, maxHigh: 5 };
const gate = (gates: any[], name: string) => gates.find((g) => g.gateName === name);

async function preview(s: Scene, token: string, st: Pick<Stage, 'env' | 'release'>, extra: Record<string, unknown> = {}) {
  return s.expect(200, 'POST', '/promotions/preview-gates', token, { releaseId: st.release.id, targetEnvironmentId: st.env.id, ...extra });
}

/** A request that must be refused: its preview says it would not pass and shows exactly the gates of the 422. */
async function blocked(s: Scene, token: string, st: Pick<Stage, 'env' | 'release'>, extra: Record<string, unknown> = {}) {
  const seen = await preview(s, token, st, extra);
  const err = await s.refuse(422, 'POST', '/promotions', token, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'try', ...extra });
  expect(err.code).toBe('PROMOTION_BLOCKED');
  expect(seen.wouldPass).toBe(false);
  expect(seen.gates).toEqual(err.details.gates);
  return err.details.gates as any[];
}

/** A request that must be accepted: its preview says it would pass and shows exactly the created promotion's gates. */
async function accepted(s: Scene, token: string, st: Pick<Stage, 'env' | 'release'>, extra: Record<string, unknown> = {}) {
  const seen = await preview(s, token, st, extra);
  const created = await request(s, token, st, extra);
  expect(seen.wouldPass).toBe(true);
  expect(seen.gates).toEqual(created.gates);
  return created;
}

const requesterIn = (s: Scene) => s.token('dev@example.com', { roles: ['developer'] });

describe('security-gate', () => {
  it('blocks scan counts over the environment’s thresholds, with the spec’s details', async () => {
    const s = await scene(app);
    const st = await stage(s, { env: { securityThresholds: THRESHOLDS }, scan: { criticalCount: 3, highCount: 6 } });
    const gates = await blocked(s, await requesterIn(s), st);
    expect(gate(gates, 'security-gate')).toEqual({
      gateName: 'security-gate',
      passed: false,
      blocking: true,
      message: '3 critical vulnerabilities exceed threshold (max: 0); 6 high vulnerabilities exceed threshold (max: 5)',
      details: { criticalCount: 3, highCount: 6, maxCritical: 0, maxHigh: 5 },
    });
  });

  it('blocks a release without a scan where thresholds apply, and passes one within them', async () => {
    const s = await scene(app);
    const unscanned = await stage(s, { env: { securityThresholds: THRESHOLDS }, scan: null });
    expect(gate(await blocked(s, await requesterIn(s), unscanned), 'security-gate').message).toMatch(/has no security scan; record one/);

    await s.expect(200, 'PUT', `/releases/${unscanned.release.id}`, s.admin, { securityScan: { criticalCount: 0, highCount: 5 } });
    const created = await accepted(s, await requesterIn(s), unscanned);
    expect(gate(created.gates, 'security-gate')).toMatchObject({ passed: true, blocking: false, details: { criticalCount: 0, highCount: 5, maxCritical: 0, maxHigh: 5 } });
  });

  it('passes anything where the environment sets no thresholds', async () => {
    const s = await scene(app);
    const st = await stage(s, { scan: { criticalCount: 9, highCount: 9 } });
    const created = await accepted(s, await requesterIn(s), st);
    expect(gate(created.gates, 'security-gate')).toMatchObject({ passed: true, message: 'Production sets no security thresholds' });
  });
});

describe('promotion-order-gate', () => {
  it('blocks production before the release reached the environment before it, and passes after', async () => {
    const s = await scene(app);
    const staging = await stage(s, { env: { name: 'Staging', order: 2, requiredApprovals: 0 } });
    const prod = { env: await s.expect(201, 'POST', '/environments', s.admin, { name: 'Production', order: 3, requiredApprovals: 0 }), release: staging.release };
    const t = await requesterIn(s);
    const order = gate(await blocked(s, t, prod), 'promotion-order-gate');
    expect(order).toMatchObject({ passed: false, blocking: true, message: `${staging.release.name} is not deployed to Staging; promote it there first`, details: { previousEnvironmentName: 'Staging' } });

    const first = await accepted(s, t, staging);
    expect(gate(first.gates, 'promotion-order-gate')).toMatchObject({ passed: true, message: 'Staging is the first environment in the pipeline' });
    expect(first).toMatchObject({ sourceEnvironmentId: null, sourceEnvironmentName: null });
    await reaches(s, first.id, 'deployed');
    const second = await accepted(s, t, prod);
    expect(gate(second.gates, 'promotion-order-gate')).toMatchObject({ passed: true, message: `${staging.release.name} is deployed to Staging` });
    expect(second).toMatchObject({ sourceEnvironmentId: staging.env.id, sourceEnvironmentName: 'Staging' });
    await reaches(s, second.id, 'deployed');
  });
});

describe('change-request-gate', () => {
  it('requires a linked change that is scheduled and whose window contains now', async () => {
    const s = await scene(app);
    const st = await stage(s, { env: { requireChangeRequest: true, requiredApprovals: 0 } });
    const t = await requesterIn(s);
    const message = async (extra: Record<string, unknown>) => gate(await blocked(s, t, st, extra), 'change-request-gate').message;

    expect(await message({})).toBe('Production requires a change request: pass changeId of a scheduled change');
    expect(await message({ changeId: 'CHG9999999' })).toBe('change CHG9999999 was not found');
    const draft = await createChange(app, s.admin, standardChange());
    expect(await message({ changeId: draft.id })).toBe(`change ${draft.id} is draft; it must be scheduled or in_progress`);
    const later = await createChange(app, s.admin, standardChange({ scheduled_start: iso(HOUR), scheduled_end: iso(2 * HOUR) }));
    await step(app, s.admin, 'POST', `${later.id}/submit`);
    expect(await message({ changeId: later.id })).toMatch(new RegExp(`^the window of change ${later.id} opens at `));

    const now = await createChange(app, s.admin, standardChange({ scheduled_start: iso(-MIN), scheduled_end: iso(HOUR) }));
    expect((await step(app, s.admin, 'POST', `${now.id}/submit`)).state).toBe('scheduled');
    const created = await accepted(s, t, st, { changeId: now.id });
    expect(created.changeId).toBe(now.id);
    expect(gate(created.gates, 'change-request-gate')).toMatchObject({ passed: true, details: { required: true, changeId: now.id, changeState: 'scheduled' } });
    await reaches(s, created.id, 'deployed');
  });

  it('passes without a change where the environment does not require one', async () => {
    const s = await scene(app);
    const created = await accepted(s, await requesterIn(s), await stage(s));
    expect(gate(created.gates, 'change-request-gate')).toMatchObject({ passed: true, message: 'Production does not require a change request' });
  });
});

describe('approval-gate and separation-of-duties-gate', () => {
  it('say how many approvals from whom are missing, and pass once they are given', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { requiredApprovals: 2, approverGroups: ['sre-team', 'release-managers'], requireSeparationOfDuties: true } });
    const t = await requesterIn(s);
    const seen = await preview(s, t, st);
    expect(seen.wouldPass).toBe(true);
    expect(gate(seen.gates, 'approval-gate')).toMatchObject({ passed: false, blocking: false, message: 'needs 2 more approvals from sre-team or release-managers' });
    expect(gate(seen.gates, 'separation-of-duties-gate')).toMatchObject({ passed: true, details: { required: true, requestedBy: 'dev@example.com' } });

    const p = await awaiting(s, t, st);
    await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'));
    expect(gate((await promotionOf(s, p.id)).gates, 'approval-gate')).toMatchObject({ passed: false, message: 'needs 1 more approval from sre-team or release-managers' });
    // The requester's own approval is what the SoD gate guards: refused before it could count.
    expect((await s.refuse(403, 'POST', `/promotions/${p.id}/approve`, await s.token('dev@example.com', { roles: ['developer'], claims: { groups: ['sre-team'] } }), {})).code).toBe('SOD_VIOLATION');
    const done = (await approve(s, p.id, await s.member('sre2@example.com', 'sre-team'))).body.data;
    expect(gate(done.gates, 'approval-gate')).toMatchObject({ passed: true, message: '2 of 2 required approvals' });
    expect(gate(done.gates, 'separation-of-duties-gate')).toMatchObject({ passed: true });
  });
});

describe('preview-gates', () => {
  it('refuses a deprecated release as create does, and answers 404 for what does not exist', async () => {
    const s = await scene(app);
    const st = await stage(s);
    await s.expect(200, 'POST', `/releases/${st.release.id}/deprecate`, s.admin, { reason: 'superseded' });
    expect(await preview(s, await requesterIn(s), st)).toMatchObject({ wouldPass: false });
    expect((await s.refuse(422, 'POST', '/promotions', await requesterIn(s), { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'x' })).code).toBe('RELEASE_DEPRECATED');
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await s.refuse(404, 'POST', '/promotions/preview-gates', s.admin, { releaseId: missing, targetEnvironmentId: st.env.id })).code).toBe('RELEASE_NOT_FOUND');
    expect((await s.refuse(404, 'POST', '/promotions/preview-gates', s.admin, { releaseId: st.release.id, targetEnvironmentId: missing })).code).toBe('ENVIRONMENT_NOT_FOUND');
    expect((await s.refuse(400, 'POST', '/promotions/preview-gates', s.admin, { releaseId: 'x' })).code).toBe('VALIDATION_FAILED');
  });
});

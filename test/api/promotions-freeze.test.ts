import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { approve, awaiting, reaches, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * A freeze never fails a promotion: approvals go on, and an approved promotion
 * waits durably (heldUntil) until the freeze ends, then deploys.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
const POLICY = { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true };

async function freeze(s: Scene, envId: string, startMs: number, endMs: number, extra: Record<string, unknown> = {}) {
  return s.expect(201, 'POST', `/environments/${envId}/freeze-windows`, s.admin, { name: 'Release freeze', reason: 'peak traffic', start: at(startMs), end: at(endMs), ...extra });
}

it('holds an approved promotion while a freeze is active and deploys it when the freeze ends', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: POLICY });
  // Ends soon, but late enough that a slow machine still approves inside it.
  const window = await freeze(s, st.env.id, -60_000, 15_000);
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
  const freezeGate = p.gates.find((g: any) => g.gateName === 'freeze-window-gate');
  expect(freezeGate).toMatchObject({ passed: false, blocking: false, message: `Freeze "Release freeze" (peak traffic) is active; freeze ends at ${window.end}` });

  expect((await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'))).body.data).toMatchObject({ status: 'approved' });
  const held = await reaches(s, p.id, 'approved', (x) => x.heldUntil !== null);
  expect(held.heldUntil).toBe(window.end);
  expect(Date.now()).toBeLessThan(Date.parse(window.end));

  const deployed = await reaches(s, p.id, 'deployed', undefined, 40_000);
  expect(deployed.heldUntil).toBeNull();
  expect(Date.parse(deployed.completedAt)).toBeGreaterThanOrEqual(Date.parse(window.end));
  const { rows } = await app.pool.query(`SELECT action, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [s.tenant, p.id]);
  expect(rows.find((r) => r.action === 'promotion.hold')?.after).toEqual({ heldUntil: window.end });
});

it('keeps collecting approvals when a freeze starts during approval, then waits for it to end', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: POLICY });
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
  expect(p.gates.find((g: any) => g.gateName === 'freeze-window-gate')).toMatchObject({ passed: true, details: { activeFreezeWindow: null, nextFreezeWindow: null } });
  // While the promotion waits for its approver, a freeze is declared that starts shortly.
  const window = await freeze(s, st.env.id, 3_000, 15_000);
  const previewed = await s.expect(200, 'POST', '/promotions/preview-gates', s.admin, { releaseId: st.release.id, targetEnvironmentId: st.env.id });
  expect(previewed.gates.find((g: any) => g.gateName === 'freeze-window-gate').details.nextFreezeWindow).toMatchObject({ start: window.start, end: window.end });

  // The environment says when the freeze is on.
  await until('the freeze to start', async () => (await s.expect(200, 'GET', `/environments/${st.env.id}`)).freeze?.active, 20_000, 200);
  expect((await s.expect(200, 'GET', `/promotions/${p.id}`)).status).toBe('awaiting_approval');
  expect((await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'))).body.data).toMatchObject({ status: 'approved' });
  const held = await reaches(s, p.id, 'approved', (x) => x.heldUntil !== null);
  expect(held.heldUntil).toBe(window.end);

  const deployed = await reaches(s, p.id, 'deployed', undefined, 40_000);
  expect(Date.parse(deployed.completedAt)).toBeGreaterThanOrEqual(Date.parse(window.end));
});

it('lets an exempt release class through, and a held promotion be cancelled', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: POLICY, release: { class: 'hotfix' } });
  await freeze(s, st.env.id, -60_000, 3_600_000, { exemptReleaseClasses: ['hotfix'] });
  const dev = await s.token('dev@example.com', { roles: ['developer'] });
  const hotfix = await awaiting(s, dev, st);
  expect(hotfix.gates.find((g: any) => g.gateName === 'freeze-window-gate')).toMatchObject({ passed: true });
  await approve(s, hotfix.id, await s.member('sre1@example.com', 'sre-team'));
  await reaches(s, hotfix.id, 'deployed');

  await s.expect(200, 'PUT', `/releases/${st.release.id}`, s.admin, { class: 'standard' });
  const standard = await awaiting(s, dev, st);
  await approve(s, standard.id, await s.member('sre1@example.com', 'sre-team'));
  await reaches(s, standard.id, 'approved', (x) => x.heldUntil !== null);
  const cancelled = await s.expect(200, 'POST', `/promotions/${standard.id}/cancel`, dev, { reason: 'not worth the wait' });
  expect(cancelled).toMatchObject({ status: 'cancelled', heldUntil: null, statusReason: 'not worth the wait', decision: 'deny' });
});

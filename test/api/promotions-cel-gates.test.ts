import { startTestApp, type TestApp } from '../support/app';
import { approve, awaiting, reaches, scene, stage } from '../support/promotion-scene';

/**
 * Policy as code over HTTP: an approval policy's CEL gate blocks a release with
 * a critical vulnerability (the preview shows it with what would unblock it,
 * the request is 422 with the same gates), a passing one is listed in the
 * decision record and the signed evidence, and an expression that cannot work
 * is refused when the policy is saved, naming the field.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const NO_CRITICALS = { name: 'no-criticals', expression: 'release.components.all(c, c.scan.critical == 0)', message: 'fix every critical vulnerability, then record the new scan' };
const celGate = (gates: any[]) => gates.filter((g) => g.gateName === 'cel-gate');

describe('CEL gates of an approval policy', () => {
  it('block a release with a critical vulnerability: the preview shows the gate and its message, the request is refused with the same gates', async () => {
    const s = await scene(app);
    // No thresholds on the environment: the built-in security gate passes, only the policy's own gate speaks.
    const st = await stage(s, { scan: { criticalCount: 1, highCount: 0 }, policy: { requiredApprovals: 1, celGates: [NO_CRITICALS] } });
    expect(st.policy).toMatchObject({ version: 1, celGates: [NO_CRITICALS] });
    const dev = await s.token('dev@example.com', { roles: ['developer'] });

    const preview = await s.expect(200, 'POST', '/promotions/preview-gates', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id });
    expect(preview.wouldPass).toBe(false);
    expect(celGate(preview.gates)).toEqual([
      { gateName: 'cel-gate', passed: false, blocking: true, message: `no-criticals: ${NO_CRITICALS.message}`, details: { name: 'no-criticals', expression: NO_CRITICALS.expression } },
    ]);
    expect(preview.gates.find((g: any) => g.gateName === 'security-gate')).toMatchObject({ passed: true });

    const err = await s.refuse(422, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship' });
    expect(err.code).toBe('PROMOTION_BLOCKED');
    expect(err.message).toBe(`Blocked by cel-gate: no-criticals: ${NO_CRITICALS.message}`);
    expect(err.details.gates).toEqual(preview.gates);

    // Doing what the message says unblocks it.
    await s.expect(200, 'PUT', `/releases/${st.release.id}`, s.admin, { securityScan: { criticalCount: 0, highCount: 0 } });
    const fixed = await s.expect(200, 'POST', '/promotions/preview-gates', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id });
    expect(fixed.wouldPass).toBe(true);
    expect(celGate(fixed.gates)).toEqual([{ gateName: 'cel-gate', passed: true, blocking: false, message: 'no-criticals holds', details: { name: 'no-criticals', expression: NO_CRITICALS.expression } }]);
  });

  it('are listed in the decision record and the signed evidence of a promotion they let through', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { requiredApprovals: 1, approverGroups: ['sre-team'], celGates: [NO_CRITICALS] } });
    const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
    expect(p.policy.celGates).toEqual([NO_CRITICALS]);
    expect((await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'))).status).toBe(200);
    await reaches(s, p.id, 'deployed');

    const decision = await s.expect(200, 'GET', `/promotions/${p.id}/decision`);
    expect(celGate(decision.gates)).toEqual([{ gateName: 'cel-gate', passed: true, blocking: false, message: 'no-criticals holds', details: { name: 'no-criticals', expression: NO_CRITICALS.expression } }]);
    const evidence = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=approved`);
    expect(celGate(evidence.content.gates)).toEqual(celGate(decision.gates));
    expect(evidence.content.policy).toMatchObject({ policyId: st.policy.id, celGates: [NO_CRITICALS] });
  });

  it('refuse an expression that cannot work when the policy is saved, naming celGates.N.expression', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { requiredApprovals: 1 } });
    const body = (celGates: unknown[]) => ({ name: 'prod', environmentId: st.env.id, requiredApprovals: 1, celGates });

    const syntax = await s.call('POST', '/approval-policies', s.admin, body([{ name: 'broken', expression: 'release.components.all(c, ', message: 'x' }]));
    expect(syntax.status).toBe(400);
    expect(syntax.body.error.validationErrors).toEqual([{ field: 'celGates.0.expression', code: expect.any(String), message: expect.stringMatching(/is not a valid CEL expression/) }]);

    const misspelt = await s.call('PUT', `/approval-policies/${st.policy.id}`, s.admin, body([NO_CRITICALS, { name: 'typo', expression: 'release.components.all(c, c.scan.critcal == 0)', message: 'x' }]));
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error.validationErrors).toEqual([{ field: 'celGates.1.expression', code: expect.any(String), message: expect.stringMatching(/fails on a sample promotion .*critcal/) }]);

    const notBoolean = await s.call('PUT', `/approval-policies/${st.policy.id}`, s.admin, body([{ name: 'name', expression: 'release.name', message: 'x' }]));
    expect(notBoolean.status).toBe(400);
    expect(notBoolean.body.error.validationErrors[0]).toMatchObject({ field: 'celGates.0.expression', message: expect.stringMatching(/must be a boolean/) });

    // Nothing was saved: the policy is as it was.
    expect(await s.expect(200, 'GET', `/approval-policies/${st.policy.id}`)).toMatchObject({ version: 1, celGates: [] });
    const saved = await s.expect(200, 'PUT', `/approval-policies/${st.policy.id}`, s.admin, body([NO_CRITICALS]));
    expect(saved).toMatchObject({ version: 2, celGates: [NO_CRITICALS] });
  });
});

import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { buildPipeline, deployToStaging, expectStatus, type Pipeline } from '../support/promotions';

let app: TestApp;
let p: Pipeline;

beforeAll(async () => {
  app = await startTestApp();
  p = await buildPipeline(app);
});
afterAll(() => app?.close());

const sre = (n: number) => app.token(`sre${n}@example.com`, { roles: ['viewer'], claims: { groups: ['sre-team'] } });

describe('a promotion from request to deployment', () => {
  it('refuses production before staging (promotion order), with every gate result', async () => {
    const res = await app.http('POST', '/api/v1/promotions', { token: p.admin, body: { releaseId: p.release.id, targetEnvironmentId: p.production.id, reason: 'too early' } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('PROMOTION_BLOCKED');
    const order = res.body.error.details.gates.find((g: any) => g.gateName === 'promotion-order-gate');
    expect(order).toMatchObject({ passed: false, blocking: true, message: 'myapp-v2.3.1 is not deployed to Staging; promote it there first' });
  });

  it('walks staging to deployed, then production through two approvals to deployed, with signed evidence', async () => {
    await deployToStaging(app, p, until);
    // The spec's policy body, as written.
    await expectStatus(
      app.http('POST', '/api/v1/approval-policies', {
        token: p.admin,
        body: { name: 'production-policy', environmentId: p.production.id, requiredApprovals: 2, approverGroups: ['release-managers', 'sre-team'], requireSeparationOfDuties: true, autoExpireHours: 24 },
      }),
      201,
    );
    const requester = await app.token('dev@example.com', { roles: ['developer'] });
    const created = await expectStatus<any>(
      app.http('POST', '/api/v1/promotions', { token: requester, body: { releaseId: p.release.id, targetEnvironmentId: p.production.id, reason: 'Deploying v2.3.1 with critical bug fix' } }),
      201,
    );
    expect(created.data).toMatchObject({
      releaseId: p.release.id,
      releaseName: 'myapp-v2.3.1',
      sourceEnvironmentName: 'Staging',
      targetEnvironmentName: 'Production',
      status: 'pending',
      requestedBy: 'dev@example.com',
      reason: 'Deploying v2.3.1 with critical bug fix',
    });
    const id = created.data.id;
    await eventually(async () => expect((await app.http('GET', `/api/v1/promotions/${id}`, { token: requester })).body.data.status).toBe('awaiting_approval'));

    // The requester is not an approver; SoD would refuse them anyway.
    expect((await app.http('POST', `/api/v1/promotions/${id}/approve`, { token: requester, body: {} })).body.error.code).toBe('NOT_AN_APPROVER');
    const one = await expectStatus<any>(app.http('POST', `/api/v1/promotions/${id}/approve`, { token: await sre(1), body: { comment: 'LGTM' } }), 200);
    expect(one.data).toMatchObject({ status: 'awaiting_approval', approvalCount: 1, requiredApprovals: 2 });
    const again = await app.http('POST', `/api/v1/promotions/${id}/approve`, { token: await sre(1), body: {} });
    expect([again.status, again.body.error.code]).toEqual([409, 'ALREADY_APPROVED']);
    const two = await expectStatus<any>(app.http('POST', `/api/v1/promotions/${id}/approve`, { token: await sre(2), body: {} }), 200);
    expect(two.data).toMatchObject({ status: 'approved', approvalCount: 2, requiredApprovals: 2, decision: 'allow' });
    expect(two.data.decidedAt).toEqual(expect.any(String));

    await until('deployed', async () => (await app.http('GET', `/api/v1/promotions/${id}`, { token: requester })).body.data.status === 'deployed');
    const decision = await expectStatus<any>(app.http('GET', `/api/v1/promotions/${id}/decision`, { token: requester }), 200);
    expect(decision.data).toMatchObject({ promotionId: id, decision: 'allow' });
    expect(decision.data.approvals.map((a: any) => a.approverEmail)).toEqual(['sre1@example.com', 'sre2@example.com']);
    const evidence = await expectStatus<any>(app.http('GET', `/api/v1/promotions/${id}/evidence?decision=approved`, { token: requester }), 200);
    expect(evidence.data).toMatchObject({ type: 'release_decision', version: '1.1', signatureAlgorithm: 'ECDSA-P256-SHA256' });
    expect(evidence.data.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const jwks = await expectStatus<any>(app.http('GET', '/api/v1/evidence/jwks.json'), 200);
    expect(jwks.keys.map((k: any) => k.kid)).toContain(evidence.data.signerKeyRef);
    const state = await expectStatus<any>(app.http('GET', `/api/v1/releases/${p.release.id}/state`, { token: requester }), 200);
    expect(state.data.deployedTo.map((d: any) => d.environmentName).sort()).toEqual(['Production', 'Staging']);
  });
});

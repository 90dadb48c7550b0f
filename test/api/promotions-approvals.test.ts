import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { approve, awaiting, newDigest, promotionOf, reaches, scene, stage, type Scene } from '../support/promotion-scene';

/** Who may decide a promotion: approver groups (roles or the groups claim), N of M, separation of duties, reject, cancel. */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const POLICY = { requiredApprovals: 3, approverGroups: ['release-managers', 'sre-team'], requireSeparationOfDuties: true, autoExpireHours: 24 };

async function requesterOf(s: Scene, groups: string[] = []) {
  return s.token('dev@example.com', { roles: ['developer'], claims: { groups } });
}

describe('approvals', () => {
  it('needs N distinct members of the approver groups, from roles or the groups claim', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: POLICY });
    const p = await awaiting(s, await requesterOf(s), st);
    expect(p).toMatchObject({ approvalCount: 0, requiredApprovals: 3, policy: { policyId: st.policy.id, approverGroups: ['release-managers', 'sre-team'] } });

    const byRole = await s.token('rm@example.com', { roles: ['viewer', 'release-managers'] });
    const byClaim = await s.member('sre1@example.com', 'SRE-Team');
    const third = await s.member('sre2@example.com', 'sre-team', 'qa');

    const one = await approve(s, p.id, byRole, 'LGTM');
    expect([one.status, one.body.data]).toMatchObject([200, { status: 'awaiting_approval', approvalCount: 1, requiredApprovals: 3 }]);
    // The same person again, even with another token, does not count twice.
    const again = await approve(s, p.id, await s.token('rm@example.com', { roles: ['viewer', 'release-managers'] }));
    expect([again.status, again.body.error.code]).toEqual([409, 'ALREADY_APPROVED']);
    expect((await approve(s, p.id, byClaim)).body.data).toMatchObject({ status: 'awaiting_approval', approvalCount: 2 });
    const last = await approve(s, p.id, third, 'ship');
    expect(last.status).toBe(200);
    expect(last.body.data).toMatchObject({ id: p.id, status: 'approved', approvalCount: 3, requiredApprovals: 3, decision: 'allow' });
    expect(Date.parse(last.body.data.decidedAt)).not.toBeNaN();

    // After the decision: a fresh member gets ALREADY_DECIDED, while the workflow runs and after it has finished.
    const late = await s.member('sre3@example.com', 'sre-team');
    const whileRunning = await approve(s, p.id, late);
    expect([whileRunning.status, whileRunning.body.error.code]).toEqual([409, 'ALREADY_DECIDED']);
    await reaches(s, p.id, 'deployed');
    const afterFinish = await s.refuse(409, 'POST', `/promotions/${p.id}/approve`, late, {});
    expect(afterFinish.code).toBe('ALREADY_DECIDED');
    expect((await s.refuse(409, 'POST', `/promotions/${p.id}/reject`, late, { reason: 'too late' })).code).toBe('ALREADY_DECIDED');
  });

  it('counts one person once: two tokens with different user ids and one email are one approver (409 ALREADY_APPROVED), as SoD sees them', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { ...POLICY, requiredApprovals: 2 } });
    const p = await awaiting(s, await s.token('dev-1', { roles: ['developer'], email: 'dev@example.com' }), st);
    const as = (userId: string, email: string) => s.token(userId, { roles: ['viewer'], email, claims: { groups: ['sre-team'] } });

    expect((await approve(s, p.id, await as('u-1', 'ann@example.com'))).body.data).toMatchObject({ status: 'awaiting_approval', approvalCount: 1 });
    const twin = await approve(s, p.id, await as('u-2', 'ANN@example.com'));
    expect([twin.status, twin.body.error.code]).toEqual([409, 'ALREADY_APPROVED']);
    // The requester under another user id is still the requester.
    const self = await approve(s, p.id, await as('dev-2', 'dev@example.com'));
    expect([self.status, self.body.error.code]).toEqual([403, 'SOD_VIOLATION']);
    const after = await promotionOf(s, p.id);
    expect(after).toMatchObject({ status: 'awaiting_approval', approvalCount: 1 });
    expect(after.approvals.map((a: any) => [a.approverId, a.approverEmail])).toEqual([['u-1', 'ann@example.com']]);

    expect((await approve(s, p.id, await as('u-3', 'bob@example.com'))).body.data).toMatchObject({ status: 'approved', approvalCount: 2 });
  });

  it('refuses non-members (even holders of promotion:approve) and the requester under separation of duties', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: POLICY });
    const requester = await requesterOf(s, ['sre-team']);
    const p = await awaiting(s, requester, st);

    const outsider = await s.member('qa@example.com', 'qa');
    const approverRole = await s.token('approver@example.com', { roles: ['approver'] });
    for (const t of [outsider, approverRole]) {
      const err = await s.refuse(403, 'POST', `/promotions/${p.id}/approve`, t, {});
      expect(err).toMatchObject({ code: 'NOT_AN_APPROVER', details: { approverGroups: ['release-managers', 'sre-team'] } });
      expect((await s.refuse(403, 'POST', `/promotions/${p.id}/reject`, t, { reason: 'no' })).code).toBe('NOT_AN_APPROVER');
    }
    const sod = await s.refuse(403, 'POST', `/promotions/${p.id}/approve`, requester, {});
    expect(sod.code).toBe('SOD_VIOLATION');
    expect((await s.refuse(403, 'POST', `/promotions/${p.id}/reject`, requester, { reason: 'mine' })).code).toBe('SOD_VIOLATION');
    // Nothing of that entered the record.
    expect(await s.expect(200, 'GET', `/promotions/${p.id}/approvals`)).toEqual([]);
  });

  it('lets the requester approve their own promotion when separation of duties is off', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { ...POLICY, requiredApprovals: 1, requireSeparationOfDuties: false } });
    const requester = await requesterOf(s, ['sre-team']);
    const p = await awaiting(s, requester, st);
    expect((await approve(s, p.id, requester)).body.data).toMatchObject({ status: 'approved', approvalCount: 1 });
    const sod = (await reaches(s, p.id, 'deployed')).gates.find((g: any) => g.gateName === 'separation-of-duties-gate');
    expect(sod).toMatchObject({ passed: true, details: { required: false } });
  });

  it('rejects with a reason: the promotion ends, the rejection is recorded, nothing more is accepted', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: POLICY });
    const p = await awaiting(s, await requesterOf(s), st);
    const sre = await s.member('sre1@example.com', 'sre-team');
    await approve(s, p.id, await s.member('sre0@example.com', 'sre-team'));

    const missing = await s.refuse(400, 'POST', `/promotions/${p.id}/reject`, sre, {});
    expect(missing.code).toBe('VALIDATION_FAILED');
    const rejected = await s.expect(200, 'POST', `/promotions/${p.id}/reject`, sre, { reason: 'Security vulnerabilities not addressed', comment: 'see CVE-2026-1' });
    expect(rejected).toMatchObject({ status: 'rejected', decision: 'deny', statusReason: 'Security vulnerabilities not addressed', approvalCount: 1 });
    expect(rejected.completedAt).toEqual(rejected.decidedAt);
    expect(rejected.approvals.map((a: any) => [a.approverId, a.decision, a.comment])).toEqual([
      ['sre0@example.com', 'approved', null],
      ['sre1@example.com', 'rejected', 'see CVE-2026-1'],
    ]);
    expect((await s.refuse(409, 'POST', `/promotions/${p.id}/approve`, await s.member('sre2@example.com', 'sre-team'), {})).code).toBe('ALREADY_DECIDED');
    expect((await s.refuse(409, 'POST', `/promotions/${p.id}/cancel`, await requesterOf(s), {})).code).toBe('ALREADY_DECIDED');
    const evidence = await s.expect(200, 'GET', `/promotions/${p.id}/evidence`);
    expect(evidence.content).toMatchObject({ decision: 'rejected', statusReason: 'Security vulnerabilities not addressed' });
  });

  it('is cancelled by its requester (or an approver), not by anyone else', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: POLICY });
    const requester = await requesterOf(s);
    const p = await awaiting(s, requester, st);
    const stranger = await s.token('other-dev@example.com', { roles: ['developer'] });
    expect((await s.refuse(403, 'POST', `/promotions/${p.id}/cancel`, stranger, {})).code).toBe('NOT_ALLOWED_TO_CANCEL');
    const cancelled = await s.expect(200, 'POST', `/promotions/${p.id}/cancel`, requester, { reason: 'wrong release' });
    expect(cancelled).toMatchObject({ status: 'cancelled', decision: 'deny', statusReason: 'wrong release' });
    const bare = await awaiting(s, requester, st);
    expect(await s.expect(200, 'POST', `/promotions/${bare.id}/cancel`, requester)).toMatchObject({ status: 'cancelled', statusReason: 'cancelled' });
    expect((await s.refuse(409, 'POST', `/promotions/${p.id}/cancel`, requester, {})).code).toBe('ALREADY_DECIDED');
    await eventually(async () => expect((await s.expect(200, 'GET', `/promotions/${p.id}/evidence`)).content).toMatchObject({ decision: 'cancelled', status: 'cancelled' }));
  });

  it('serves /approvals and /decision as the spec shows', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { ...POLICY, requiredApprovals: 2 } });
    const p = await awaiting(s, await requesterOf(s), st);
    const pending = await s.expect(200, 'GET', `/promotions/${p.id}/decision`);
    expect(pending).toMatchObject({ promotionId: p.id, decision: 'pending', decidedAt: null, approvals: [] });

    await approve(s, p.id, await s.token('jd', { roles: ['viewer'], email: 'john@example.com', claims: { name: 'John Doe', groups: ['sre-team'] } }), 'LGTM');
    await approve(s, p.id, await s.member('sre2@example.com', 'sre-team'));
    const approvals = await s.expect(200, 'GET', `/promotions/${p.id}/approvals`);
    expect(approvals).toHaveLength(2);
    expect(approvals[0]).toMatchObject({ approverId: 'jd', approverName: 'John Doe', approverEmail: 'john@example.com', decision: 'approved', comment: 'LGTM', invalidated: null });
    expect(Date.parse(approvals[0].approvedAt)).not.toBeNaN();
    expect(approvals[0].binding).toMatchObject({ policyId: st.policy.id, policyVersion: 1, securityScan: { criticalCount: 0, highCount: 0 } });

    const decision = await s.expect(200, 'GET', `/promotions/${p.id}/decision`);
    expect(decision).toMatchObject({ promotionId: p.id, decision: 'allow', approvalCount: 2, requiredApprovals: 2 });
    expect(Date.parse(decision.decidedAt)).not.toBeNaN();
    expect(decision.approvals.map((a: any) => a.approverId)).toEqual(['jd', 'sre2@example.com']);
    expect(decision.gates.map((g: any) => g.gateName).sort()).toEqual(
      ['approval-gate', 'change-request-gate', 'freeze-window-gate', 'promotion-order-gate', 'security-gate', 'separation-of-duties-gate'].sort(),
    );
    for (const g of decision.gates) expect(g).toEqual({ gateName: expect.any(String), passed: expect.any(Boolean), blocking: expect.any(Boolean), message: expect.any(String), details: expect.any(Object) });
    expect(decision.gates.find((g: any) => g.gateName === 'freeze-window-gate').details).toMatchObject({ activeFreezeWindow: null });
    expect(decision.gates.find((g: any) => g.gateName === 'approval-gate')).toMatchObject({ passed: true, details: { approvalCount: 2, requiredApprovals: 2 } });
  });
});

describe('reading promotions', () => {
  /** Promotes `st.release` into an environment that needs no approvals (or approves it as an approver) and waits for the deployment. */
  async function deployed(s: Scene, token: string, st: { env: any; release: any }, releaseId = st.release.id): Promise<any> {
    const p = await s.expect(201, 'POST', '/promotions', token, { releaseId, targetEnvironmentId: st.env.id, reason: 'first stage' });
    const opened = await until('opened', async () => ((await promotionOf(s, p.id)).status !== 'pending' ? promotionOf(s, p.id) : undefined));
    if (opened.status === 'awaiting_approval') await s.expect(200, 'POST', `/promotions/${p.id}/approve`, await s.token('approver0@example.com', { roles: ['approver'] }));
    return reaches(s, p.id, 'deployed');
  }

  it('lists what the caller may approve now: a group member, not the requester under SoD, not yet voted', async () => {
    const s = await scene(app);
    const prod = await stage(s, { policy: { ...POLICY, requiredApprovals: 2 } });
    // QA comes before Production; its defaults name no groups, so holders of promotion:approve decide there.
    const qa = await stage(s, { env: { name: 'QA', order: 0, requiredApprovals: 1 } });
    await deployed(s, s.admin, qa, prod.release.id);
    const requester = await requesterOf(s, ['sre-team']);
    const a = await awaiting(s, requester, prod);
    const sre = await s.token('sre1@example.com', { roles: ['developer'], claims: { groups: ['sre-team'] } });
    // A second open promotion of the same release to Production would be PROMOTION_IN_FLIGHT: b promotes a newer release.
    await s.expect(200, 'POST', `/components/${prod.component.id}/sync-versions`, s.admin, { versions: [{ version: '1.1.0', digest: newDigest() }] });
    const newer = await s.expect(201, 'POST', '/releases', s.admin, {
      name: `${prod.component.name}-v1.1.0`,
      version: '1.1.0',
      components: [{ componentId: prod.component.id, version: '1.1.0' }],
      securityScan: { criticalCount: 0, highCount: 0 },
    });
    await deployed(s, s.admin, qa, newer.id);
    const b = await awaiting(s, sre, { env: prod.env, release: newer }, { reason: 'second' });
    const c = await awaiting(s, requester, qa);
    const mine = async (t: string) => ((await s.expect(200, 'GET', '/my/pending-approvals', t)) as any[]).map((p) => p.id);

    expect(await mine(sre)).toEqual([a.id]); // b is sre1's own request, under SoD
    expect(await mine(requester)).toEqual([b.id]);
    expect(await mine(await s.member('qa@example.com', 'qa'))).toEqual([]);
    expect(await mine(await s.token('approver@example.com', { roles: ['approver'] }))).toEqual([c.id]);
    expect(await mine(await s.token('lead@example.com', { roles: ['approver'], claims: { groups: ['release-managers'] } }))).toEqual([a.id, b.id, c.id]);

    await approve(s, a.id, sre);
    expect(await mine(sre)).toEqual([]);
    expect(await mine(await s.member('sre2@example.com', 'sre-team'))).toEqual([a.id, b.id]);
  });

  it('filters the list by status, release and environment', async () => {
    const s = await scene(app);
    const prod = await stage(s, { policy: { ...POLICY, requiredApprovals: 1, requireSeparationOfDuties: false } });
    const dev = await stage(s, { env: { name: 'Dev', order: 0, requiredApprovals: 0 } });
    const requester = await requesterOf(s);
    const first = await deployed(s, requester, dev, prod.release.id);
    const other = await deployed(s, requester, dev);
    // One open promotion per release and environment: the cancelled one ends before the waiting one is requested.
    const cancelled = await awaiting(s, requester, prod, { reason: 'again' });
    await s.expect(200, 'POST', `/promotions/${cancelled.id}/cancel`, requester);
    const waiting = await awaiting(s, requester, prod);

    const ids = async (query: string) => {
      const res = await s.call('GET', `/promotions${query}`, requester);
      expect(res.status).toBe(200);
      // The house's Stella list envelope (overview: PaginationMeta).
      expect(res.body).toMatchObject({ success: true, meta: { pagination: { page: 1, totalItems: res.body.data.length } } });
      return (res.body.data as any[]).map((p) => p.id).sort();
    };
    const sorted = (...ps: any[]) => ps.map((p) => p.id).sort();
    expect(await ids('')).toEqual(sorted(first, other, waiting, cancelled));
    expect(await ids('?status=awaiting_approval')).toEqual(sorted(waiting));
    expect(await ids('?status=deployed')).toEqual(sorted(first, other));
    expect(await ids(`?releaseId=${prod.release.id}`)).toEqual(sorted(first, waiting, cancelled));
    expect(await ids(`?environmentId=${dev.env.id}`)).toEqual(sorted(first, other));
    expect(await ids(`?environmentId=${prod.env.id}&status=cancelled`)).toEqual(sorted(cancelled));
    expect(await ids(`?releaseId=${dev.release.id}&environmentId=${prod.env.id}`)).toEqual([]);
    const listed = (await s.call('GET', `/promotions?releaseId=${dev.release.id}`, requester)).body.data[0];
    expect(listed).toMatchObject({ id: other.id, releaseName: dev.release.name, targetEnvironmentName: 'Dev', status: 'deployed', requestedAt: expect.any(String) });
    expect((await s.refuse(400, 'GET', '/promotions?status=shipped', requester)).code).toBe('VALIDATION_FAILED');
    expect((await s.refuse(400, 'GET', '/promotions?releaseId=nope', requester)).code).toBe('VALIDATION_FAILED');
  });
});

import { startTestApp, type TestApp } from '../support/app';
import { approve, awaiting, reaches, scene, stage } from '../support/promotion-scene';

/** Fifty approvers at once on a two-approval policy: the workflow's lock counts exactly two and decides once. */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

it('counts exactly two of 50 concurrent approvals, decides once, and refuses the rest with 409', async () => {
  const s = await scene(app);
  const st = await stage(s, { policy: { requiredApprovals: 2, approverGroups: ['sre-team'], requireSeparationOfDuties: true } });
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
  const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => s.member(`sre${i}@example.com`, 'sre-team')));

  const results = await Promise.all(tokens.map((t) => approve(s, p.id, t)));
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((x) => x === 200)).toHaveLength(2);
  expect(statuses.filter((x) => x === 409)).toHaveLength(48);
  for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('ALREADY_DECIDED');
  const answers = results.filter((r) => r.status === 200).map((r) => r.body.data);
  expect(answers.map((a) => [a.status, a.approvalCount]).sort()).toEqual([
    ['approved', 2],
    ['awaiting_approval', 1],
  ]);

  const done = await reaches(s, p.id, 'deployed');
  expect(done.approvals).toHaveLength(2);
  expect(done.approvalCount).toBe(2);
  const winners = answers.flatMap((a) => a.approvals.map((x: any) => x.approverId));
  expect(done.approvals.map((a: any) => a.approverId).sort()).toEqual([...new Set(winners)].sort());

  const { rows: packets } = await app.pool.query('SELECT decision FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = $2 ORDER BY generated_at', [s.tenant, p.id]);
  expect(packets.map((r) => r.decision)).toEqual(['approved', 'deployed']);
  const { rows: decisions } = await app.pool.query(
    `SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND after->>'status' = 'approved'`,
    [s.tenant, p.id],
  );
  expect(decisions[0].n).toBe(1);
});

import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, step } from '../support/changes';

/** Approvals racing each other count exactly once; retried requests with the same Idempotency-Key apply once. */
let app: TestApp;
let requester: string;

beforeAll(async () => {
  app = await startTestApp();
  requester = await app.token('alice@example.com', { roles: ['requester'] });
});
afterAll(() => app.close());

async function inCab(approvers: string[]) {
  const { id } = await createChange(app, requester, auroraChange({ cab_approvers: approvers }));
  await step(app, requester, 'POST', `${id}/submit`);
  await step(app, requester, 'POST', `${id}/submit-cab`, {});
  return id;
}

test('two approvals sent at the same moment both count exactly once and schedule the change', async () => {
  const id = await inCab(['p@example.com', 'q@example.com']);
  const [p, q] = await Promise.all([app.token('p@example.com', { roles: ['viewer'] }), app.token('q@example.com', { roles: ['viewer'] })]);
  const answers = await Promise.all([
    app.http('POST', `/prod/api/changes/${id}/approve`, { token: p, body: { comment: 'p ok' } }),
    app.http('POST', `/prod/api/changes/${id}/approve`, { token: q, body: { comment: 'q ok' } }),
  ]);
  expect(answers.map((a) => a.status)).toEqual([200, 200]);
  const change = (await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body;
  expect(change.state).toBe('scheduled');
  expect(change.approvals.map((a: any) => a.approver).sort()).toEqual(['p@example.com', 'q@example.com']);
  const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'change.approve'`, [app.tenant, id]);
  expect(rows[0].n).toBe(2);
});

test('the same approver racing themself: one 200, one clean 409', async () => {
  const id = await inCab(['r@example.com', 's@example.com']);
  const r = await app.token('r@example.com', { roles: ['viewer'] });
  const answers = await Promise.all([1, 2, 3].map(() => app.http('POST', `/prod/api/changes/${id}/approve`, { token: r, body: {} })));
  expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
  const change = (await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body;
  expect(change.approvals).toHaveLength(1);
  expect(change.state).toBe('cab_review');
});

test('a retried approval with the same Idempotency-Key is answered identically and counted once', async () => {
  const id = await inCab(['t@example.com', 'u@example.com']);
  const t = await app.token('t@example.com', { roles: ['viewer'] });
  const headers = { 'idempotency-key': `approve-${id}-t` };
  const [a, b] = await Promise.all([
    app.http('POST', `/prod/api/changes/${id}/approve`, { token: t, body: { comment: 'once' }, headers }),
    app.http('POST', `/prod/api/changes/${id}/approve`, { token: t, body: { comment: 'once' }, headers }),
  ]);
  expect([a.status, b.status]).toEqual([200, 200]);
  expect(a.body).toEqual(b.body);
  const later = await app.http('POST', `/prod/api/changes/${id}/approve`, { token: t, body: { comment: 'once' }, headers });
  expect(later.status).toBe(200);
  expect(later.body.approvals).toHaveLength(1);
  expect((await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body.approvals).toHaveLength(1);
});

test('a retried create with the same Idempotency-Key returns the same change; a different body with it is 422', async () => {
  const headers = { 'idempotency-key': `create-${app.tenant}-1` };
  const body = auroraChange({ short_description: 'Idempotent create' });
  const [a, b] = await Promise.all([
    app.http('POST', '/prod/api/changes', { token: requester, body, headers }),
    app.http('POST', '/prod/api/changes', { token: requester, body, headers }),
  ]);
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(a.body.id).toBe(b.body.id);
  const again = await app.http('POST', '/prod/api/changes', { token: requester, body, headers });
  expect(again.body.id).toBe(a.body.id);
  const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1 AND short_description = 'Idempotent create'`, [app.tenant]);
  expect(rows[0].n).toBe(1);
  const reused = await app.http('POST', '/prod/api/changes', { token: requester, body: { ...body, short_description: 'Something else' }, headers });
  expect(reused.status).toBe(422);
  expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
});

test('concurrent creates get distinct, gapless-enough numbers from the tenant sequence', async () => {
  const created = await Promise.all(Array.from({ length: 8 }, (_, i) => createChange(app, requester, auroraChange({ short_description: `Parallel ${i}` }))));
  const numbers = created.map((c) => c.number);
  expect(new Set(numbers).size).toBe(8);
  expect(created.every((c) => c.id === `CHG${String(c.number).padStart(7, '0')}`)).toBe(true);
});

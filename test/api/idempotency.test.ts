import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, standardChange, step } from '../support/changes';

/**
 * An Idempotency-Key belongs to its first use (tenant, caller, operation,
 * resource, body): a retry of that use is applied once and answered as the
 * first was; any other use of the key is 422 IDEMPOTENCY_KEY_REUSED; and a key
 * never lets a caller past a refusal they would get without it.
 */
let app: TestApp;
let requester: string;
let approverA: string;
let approverB: string;
let viewer: string;
let manager: string;

beforeAll(async () => {
  app = await startTestApp();
  requester = await app.token('alice@example.com', { roles: ['engineer'] });
  approverA = await app.token('ann@example.com', { roles: ['cab-member'] });
  approverB = await app.token('ben@example.com', { roles: ['cab-member'] });
  viewer = await app.token('vic@example.com', { roles: ['viewer'] });
  manager = await app.token('carol@example.com', { roles: ['change-manager'] });
});
afterAll(() => app.close());

const key = () => ({ 'idempotency-key': `k-${randomUUID()}` });
const send = (method: string, path: string, token: string, body: unknown, headers: Record<string, string>) =>
  app.http(method, `/prod/api/changes${path}`, { token, body, headers });

async function inCab(quorum = 2) {
  const { id } = await createChange(app, requester, auroraChange({ cab_approvers: [], cab_quorum: quorum }));
  await step(app, requester, 'POST', `${id}/submit`);
  await step(app, requester, 'POST', `${id}/submit-cab`, {});
  return id as string;
}

async function count(id: string, action: string): Promise<number> {
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = $3', [app.tenant, id, action]);
  return rows[0].n;
}

function expectReused(res: { status: number; body: any; text: string }, conflict: string) {
  if (res.status !== 422) throw new Error(`expected 422, got ${res.status}: ${res.text}`);
  expect(res.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { conflict } });
}

test("approver B reusing approver A's key is refused, never answered with A's 200; B's own decision still counts", async () => {
  const id = await inCab();
  const headers = key();
  const a = await send('POST', `/${id}/approve`, approverA, { comment: 'A approves' }, headers);
  expect(a.status).toBe(200);
  expect(a.body.approvals).toHaveLength(1);

  expectReused(await send('POST', `/${id}/approve`, approverB, { comment: 'A approves' }, headers), 'caller');
  expect(await count(id, 'change.approve')).toBe(1);

  const b = await send('POST', `/${id}/approve`, approverB, { comment: 'B approves' }, key());
  expect(b.status).toBe(200);
  expect(b.body).toMatchObject({ state: 'scheduled' });
  expect(b.body.approvals.map((x: any) => x.approver).sort()).toEqual(['ann@example.com', 'ben@example.com']);
});

test('a viewer sending a used key still gets its 403, on the route and in the workflow', async () => {
  const id = await inCab();
  const headers = key();
  expect((await send('POST', `/${id}/approve`, approverA, {}, headers)).status).toBe(200);
  const approve = await send('POST', `/${id}/approve`, viewer, {}, headers);
  expect(approve.status).toBe(403);
  expect(approve.body.error).toMatchObject({ code: 'NOT_AN_APPROVER', details: { required: 'change:approve' } });

  const patchKey = key();
  expect((await send('PATCH', `/${id}`, requester, { assigned_to: 'dba@example.com' }, patchKey)).status).toBe(200);
  const patch = await send('PATCH', `/${id}`, viewer, { assigned_to: 'dba@example.com' }, patchKey);
  expect(patch.status).toBe(403);
  expect(patch.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required: 'change:update' } });
  expect(await count(id, 'change.update')).toBe(1);
});

test("the requester sending the approver's key is refused (403 without the role, 422 with it), never 200", async () => {
  const id = await inCab();
  const headers = key();
  expect((await send('POST', `/${id}/approve`, approverA, {}, headers)).status).toBe(200);
  const res = await send('POST', `/${id}/approve`, requester, {}, headers);
  expect(res.status).toBe(403);

  // A requester who also holds change:approve passes the table, so the key itself refuses them.
  const lead = await app.token('lead@example.com', { roles: ['release-manager'] });
  const { id: own } = await createChange(app, lead, auroraChange({ cab_approvers: [], cab_quorum: 2 }));
  await step(app, lead, 'POST', `${own}/submit`);
  await step(app, lead, 'POST', `${own}/submit-cab`, {});
  const first = key();
  expect((await send('POST', `/${own}/approve`, approverA, {}, first)).status).toBe(200);
  expectReused(await send('POST', `/${own}/approve`, lead, {}, first), 'caller');
  // Without the key, the requester meets separation of duties.
  expect((await send('POST', `/${own}/approve`, lead, {}, key())).body.error.code).toBe('SOD_VIOLATION');
  expect(await count(own, 'change.approve')).toBe(1);
});

test('one caller reusing a key with another body, operation or resource is 422; the first use stands', async () => {
  const { id } = await createChange(app, requester, standardChange());
  const { id: other } = await createChange(app, requester, standardChange());
  const headers = key();
  const first = await send('PATCH', `/${id}`, requester, { assigned_to: 'one@example.com' }, headers);
  expect(first.status).toBe(200);
  expectReused(await send('PATCH', `/${id}`, requester, { assigned_to: 'two@example.com' }, headers), 'body');
  expectReused(await send('POST', `/${id}/submit`, requester, undefined, headers), 'operation');
  expectReused(await send('PATCH', `/${other}`, requester, { assigned_to: 'one@example.com' }, headers), 'resource');
  const now = (await app.http('GET', `/prod/api/changes/${id}`, { token: requester })).body;
  expect(now).toMatchObject({ assigned_to: 'one@example.com', state: 'draft', version: first.body.version });
  expect((await app.http('GET', `/prod/api/changes/${other}`, { token: requester })).body.assigned_to).toBeNull();
});

test("another user's create key in the same tenant is 422, never a 201 with the first user's change", async () => {
  const headers = key();
  const body = standardChange({ short_description: 'Keyed create' });
  const first = await send('POST', '', requester, body, headers);
  expect(first.status).toBe(201);

  const bob = await app.token('bob@example.com', { roles: ['requester'] });
  expectReused(await send('POST', '', bob, body, headers), 'caller');
  const { rows } = await app.pool.query(`SELECT requested_by FROM changes WHERE tenant_id = $1 AND short_description = 'Keyed create'`, [app.tenant]);
  expect(rows).toEqual([{ requested_by: 'alice@example.com' }]);

  // The key's owner still gets their change back.
  const again = await send('POST', '', requester, body, headers);
  expect(again.status).toBe(201);
  expect(again.body).toEqual(first.body);

  // Keys are per tenant: the same key elsewhere is someone else's first use.
  const elsewhere = await app.token('bob@example.com', { roles: ['requester'], tenant: `${app.tenant}-b` });
  const theirs = await send('POST', '', elsewhere, body, headers);
  expect(theirs.status).toBe(201);
  expect(theirs.body.requested_by).toBe('bob@example.com');
});

test('an exact retry is answered with the first answer and applied once', async () => {
  const id = await inCab(1);
  const headers = key();
  const body = { comment: 'Ship it' };
  const [a, b] = await Promise.all([send('POST', `/${id}/approve`, approverA, body, headers), send('POST', `/${id}/approve`, approverA, body, headers)]);
  expect([a.status, b.status]).toEqual([200, 200]);
  expect(b.body).toEqual(a.body);
  const later = await send('POST', `/${id}/approve`, approverA, body, headers);
  expect(later.status).toBe(200);
  expect(later.body).toEqual(a.body);
  expect(a.body).toMatchObject({ state: 'scheduled' });
  expect(a.body.approvals).toHaveLength(1);
  expect(await count(id, 'change.approve')).toBe(1);
  expect(await count(id, 'change.schedule')).toBe(1);
  // Without the key the same call is a second decision, refused as such.
  expect((await send('POST', `/${id}/approve`, approverA, body, key())).status).toBe(409);
});

test('a retry after the command ended the workflow still gets the first answer, not CHANGE_CLOSED', async () => {
  const { id } = await createChange(app, requester, { type: 'emergency', short_description: 'Restart the stuck consumer' });
  await step(app, requester, 'POST', `${id}/submit`);
  await step(app, requester, 'PATCH', id, { state: 'in_progress' });
  await step(app, requester, 'PATCH', id, { state: 'completed' });
  const headers = key();
  const review = { outcome: 'successful', notes: 'Consumer healthy' };
  const closed = await send('POST', `/${id}/review`, manager, review, headers);
  expect(closed.status).toBe(200);
  expect(closed.body.state).toBe('closed');
  const retried = await send('POST', `/${id}/review`, manager, review, headers);
  expect(retried.status).toBe(200);
  expect(retried.body).toEqual(closed.body);
  expect(await count(id, 'change.review')).toBe(1);
  // An unkeyed repeat meets the ended workflow.
  expect((await send('POST', `/${id}/review`, manager, review, {})).body.error.code).toBe('CHANGE_CLOSED');
});

test('the key record names its first use', async () => {
  const id = await inCab();
  const k = key();
  await send('POST', `/${id}/approve`, approverA, { comment: 'recorded' }, k);
  const { rows } = await app.pool.query('SELECT scope, caller_id, operation, resource_id FROM idempotency_keys WHERE tenant_id = $1 AND key = $2', [
    app.tenant,
    k['idempotency-key'],
  ]);
  expect(rows).toEqual([{ scope: 'change', caller_id: 'ann@example.com', operation: 'approve', resource_id: id }]);
});

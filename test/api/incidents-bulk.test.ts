import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { createIncident, getIncident } from '../support/incidents';

/** POST /incidents/bulk: 202 at once, a Temporal job applying each record alone, per-record results, retries applied once. */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  token = await app.token('bulk@example.com', { roles: ['sre'] });
});
afterAll(() => app.close());

async function finished(jobId: string, prefix = '/prod/api') {
  return until(`bulk job ${jobId}`, async () => {
    const res = await app.http('GET', `${prefix}/incidents/bulk/${jobId}`, { token });
    if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
    const job = prefix === '/api/v1' ? res.body.data : res.body;
    return job.status === 'completed' ? job : undefined;
  }, 60_000);
}

test("the spec's bulk update example: three incidents to Platform Engineering, in progress", async () => {
  const ids = [];
  for (const name of ['Disk full on web-1', 'Disk full on web-2', 'Disk full on web-3']) ids.push((await createIncident(app, token, { short_description: name })).id);
  const res = await app.http('POST', '/prod/api/incidents/bulk', {
    token,
    body: { operation: 'update', ids, fields: { assignment_group: 'Platform Engineering', state: 'in_progress' } },
  });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ id: expect.stringMatching(/^bulk_[a-z0-9]+$/), operation: 'update', status: expect.stringMatching(/queued|running|completed/), total: 3 });
  expect(res.headers.get('location')).toBe(`/prod/api/incidents/bulk/${res.body.id}`);
  const job = await finished(res.body.id);
  expect(job).toMatchObject({ total: 3, processed: 3, succeeded: 3, failed: 0 });
  expect(job.results.map((r: { incident_id: string }) => r.incident_id)).toEqual(ids);
  for (const id of ids) expect(await getIncident(app, token, id)).toMatchObject({ assignment_group: 'Platform Engineering', state: 'in_progress' });
  const { rows } = await app.pool.query(`SELECT actor, request_id FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.start'`, [app.tenant, ids[0]]);
  expect(rows).toEqual([{ actor: 'bulk@example.com', request_id: expect.any(String) }]);
});

test('a bad record fails alone, with the error the single call would give', async () => {
  const res = await app.http('POST', '/prod/api/incidents/bulk', {
    token,
    body: {
      operation: 'create',
      records: [
        { short_description: 'Bulk good one', priority: 'P2' },
        { description: 'no summary' },
        { short_description: 'Bulk good two', impact: 'high', urgency: 'high', notify_stakeholders: true },
        { short_description: 'Bad email', assigned_to: 'not-an-email' },
        { short_description: 'Too far', state: 'closed' },
        { short_description: 'Bulk good three', category: 'network' },
      ],
    },
  });
  expect(res.status).toBe(202);
  const job = await finished(res.body.id);
  expect(job).toMatchObject({ total: 6, succeeded: 3, failed: 3 });
  const byIndex = Object.fromEntries(job.results.map((r: any) => [r.index, r]));
  expect(byIndex[1]).toMatchObject({ status: 'failed', incident_id: null, error: { code: 'VALIDATION_FAILED', validation_errors: [{ field: 'short_description', code: 'required', message: 'is required' }] } });
  expect(byIndex[3].error.validation_errors).toEqual([expect.objectContaining({ field: 'assigned_to' })]);
  expect(byIndex[4].error).toMatchObject({ code: 'INVALID_STATE_TRANSITION', details: { current_state: 'new', requested_state: 'closed' } });
  const created = await Promise.all([0, 2, 5].map((i) => getIncident(app, token, byIndex[i].incident_id)));
  expect(created.map((i) => [i.short_description, i.priority, i.opened_by])).toEqual([
    ['Bulk good one', 'P2', 'bulk@example.com'],
    ['Bulk good two', 'P1', 'bulk@example.com'],
    ['Bulk good three', 'P3', 'bulk@example.com'],
  ]);
  // Each created incident has its SLA clock, as one created alone would.
  await until('SLA clocks', async () => (await Promise.all(created.map((i) => getIncident(app, token, i.id)))).every((i) => i.sla_breach_at));
});

test('bulk updates by record: unknown ids and illegal transitions fail alone', async () => {
  const a = await createIncident(app, token, { short_description: 'Update me' });
  const b = await createIncident(app, token, { short_description: 'Cannot resolve from new' });
  const res = await app.http('POST', '/prod/api/incidents/bulk', {
    token,
    body: {
      operation: 'update',
      records: [
        { id: a.id, priority: 'P1', work_note: 'Escalated by the bulk triage' },
        { id: 'INC9999999', priority: 'P1' },
        { id: b.id, state: 'resolved' },
        { priority: 'P2' },
      ],
    },
  });
  const job = await finished(res.body.id);
  expect(job.results.map((r: any) => [r.status, r.error?.code ?? null])).toEqual([
    ['succeeded', null],
    ['failed', 'NOT_FOUND'],
    ['failed', 'INVALID_STATE_TRANSITION'],
    ['failed', 'VALIDATION_FAILED'],
  ]);
  expect(await getIncident(app, token, a.id)).toMatchObject({ priority: 'P1', work_notes_count: 1 });
  expect((await getIncident(app, token, b.id)).state).toBe('new');
});

test('more than 100 records, mixed shapes, unknown operations and fields incidents do not have are 400 at once', async () => {
  const readOnly = await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', records: [{ short_description: 'x' }, { short_description: 'y', sla_breach_at: '2026-01-01T00:00:00Z' }] } });
  expect(readOnly.status).toBe(400);
  expect(readOnly.body.error.validation_errors).toEqual([expect.objectContaining({ field: 'records.1.sla_breach_at', code: 'unknown_field' })]);
  expect((await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', records: [{ short_description: 'x', nested: { a: 1 } }] } })).status).toBe(400);
  const records = Array.from({ length: 101 }, (_, i) => ({ short_description: `r${i}` }));
  const tooMany = await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', records } });
  expect(tooMany.status).toBe(400);
  expect(tooMany.body.error.validation_errors[0]).toMatchObject({ field: 'records', code: 'too_big' });
  const ids = Array.from({ length: 101 }, (_, i) => `INC${String(i + 1).padStart(7, '0')}`);
  expect((await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'update', ids, fields: { priority: 'P2' } } })).status).toBe(400);
  expect((await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'delete', ids: ['INC0000001'] } })).status).toBe(400);
  expect((await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'update', ids: ['INC0000001'] } })).status).toBe(400);
  expect((await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', ids: ['INC0000001'], records: [{}] } })).status).toBe(400);
  const exactly100 = await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', records: records.slice(0, 100) } });
  expect(exactly100.status).toBe(202);
  expect((await finished(exactly100.body.id)).succeeded).toBe(100);
});

test('a retried bulk request with the same Idempotency-Key does not apply twice', async () => {
  const headers = { 'idempotency-key': `bulk-${app.tenant}-1` };
  const body = { operation: 'create', records: [{ short_description: 'Once only A' }, { short_description: 'Once only B' }] };
  const [first, second] = await Promise.all([1, 2].map(() => app.http('POST', '/prod/api/incidents/bulk', { token, body, headers })));
  expect([first.status, second.status]).toEqual([202, 202]);
  expect(second.body.id).toBe(first.body.id);
  await finished(first.body.id);
  const third = await app.http('POST', '/prod/api/incidents/bulk', { token, body, headers });
  expect(third.body).toMatchObject({ id: first.body.id, status: 'completed', succeeded: 2 });
  const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM incidents WHERE tenant_id = $1 AND short_description LIKE 'Once only %'`, [app.tenant]);
  expect(rows[0].n).toBe(2);
  const reused = await app.http('POST', '/prod/api/incidents/bulk', { token, body: { ...body, records: [{ short_description: 'Different' }] }, headers });
  expect(reused.status).toBe(422);
  expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
});

describe('bulk requests spend a budget of records, not the per-request limit', () => {
  let limitedApp: TestApp;
  // Small limits, and an hour's window so a burst never straddles a window boundary.
  beforeAll(async () => {
    limitedApp = await startTestApp({ worker: false, env: { RATE_LIMIT_USER: '15', RATE_LIMIT_WINDOW: '1h', RATE_LIMIT_BULK_RECORDS: '50', RATE_LIMIT_BULK_WINDOW: '1h' } });
  });
  afterAll(() => limitedApp.close());
  const bulk = (token: string, n: number, tag: string) =>
    limitedApp.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', records: Array.from({ length: n }, (_, i) => ({ short_description: `${tag} ${i}` })) } });

  test('bulk POSTs leave the per-request budget alone, and each record counts against the records budget', async () => {
    const limited = await limitedApp.token('limited@example.com', { roles: ['sre'] });
    const posts = [];
    for (let i = 0; i < 20; i++) posts.push(await bulk(limited, 1, `Limit ${i}`));
    expect(posts.map((p) => p.status)).toEqual(Array(20).fill(202));
    expect(posts.map((p) => Number(p.headers.get('x-ratelimit-remaining')))).toEqual(Array.from({ length: 20 }, (_, i) => 49 - i));
    const reads = [];
    for (let i = 0; i < 20; i++) reads.push((await limitedApp.http('GET', '/prod/api/incidents?limit=1', { token: limited })).status);
    expect(reads.slice(0, 15)).toEqual(Array(15).fill(200));
    expect(reads.slice(15)).toEqual(Array(5).fill(429));

    // 20 records spent of 50: a request of 30 fits exactly, and then not one more record does.
    const last = await bulk(limited, 30, 'Last');
    expect(last.status).toBe(202);
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    const over = await bulk(limited, 1, 'Over');
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'user (bulk records)' } });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const { rows } = await limitedApp.pool.query(`SELECT count(*)::int AS n, sum(total)::int AS records FROM incident_bulk_jobs WHERE tenant_id = $1`, [limitedApp.tenant]);
    expect(rows[0]).toEqual({ n: 21, records: 50 });
  });

  test('a burst of large bulk creates is cut off at the records budget', async () => {
    const burster = await limitedApp.token('burster@example.com', { roles: ['sre'] });
    const statuses = (await Promise.all(Array.from({ length: 6 }, (_, i) => bulk(burster, 20, `Burst ${i}`)))).map((r) => r.status);
    // 50 records a window: two requests of 20 fit, the third (60) does not, nor any after it.
    expect(statuses.filter((s) => s === 202)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
  });

  test("a viewer's refused bulk POSTs are counted too, and limited", async () => {
    const viewer = await limitedApp.token('viewer@example.com', { roles: ['viewer'] });
    const statuses = [];
    for (let i = 0; i < 30; i++) statuses.push((await bulk(viewer, 2, `Viewer ${i}`)).status);
    expect(statuses.slice(0, 25)).toEqual(Array(25).fill(403));
    expect(statuses.slice(25)).toEqual(Array(5).fill(429));
  });
});

test('the job in the Stella envelope; another tenant cannot see it; an unknown job is 404', async () => {
  const res = await app.http('POST', '/api/v1/incidents/bulk', { token, body: { operation: 'create', records: [{ short_description: 'Stella bulk' }] } });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ success: true, data: { id: expect.any(String), total: 1 } });
  const job = await finished(res.body.data.id, '/api/v1');
  expect(job.succeeded).toBe(1);
  const other = await app.token('eve@example.com', { tenant: 'other-tenant', roles: ['sre'] });
  expect((await app.http('GET', `/prod/api/incidents/bulk/${job.id}`, { token: other })).status).toBe(404);
  expect((await app.http('GET', '/prod/api/incidents/bulk/bulk_00000000000000000000', { token })).status).toBe(404);
  expect((await app.http('GET', '/prod/api/incidents/bulk/nonsense', { token })).status).toBe(404);
});

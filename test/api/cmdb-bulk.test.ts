import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { someCi } from '../support/cmdb';

/** POST /cmdb/cis/bulk: 202 at once, a Temporal job applying each record alone, per-record results, status polling. */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp({ env: { RATE_LIMIT_BULK_RECORDS: '150' } });
  token = await app.token('bulk@example.com', { roles: ['itsm_manager'] });
});
afterAll(() => app.close());

async function finished(jobId: string, prefix = '/prod/api') {
  return until(`bulk job ${jobId}`, async () => {
    const res = await app.http('GET', `${prefix}/cmdb/cis/bulk/${jobId}`, { token });
    if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
    const job = prefix === '/api/v1' ? res.body.data : res.body;
    return job.status === 'completed' ? job : undefined;
  }, 60_000);
}

test('a create of good and bad records: each bad one fails alone with the error the single call gives', async () => {
  const res = await app.http('POST', '/prod/api/cmdb/cis/bulk', {
    token,
    body: {
      operation: 'create',
      records: [
        { name: 'bulk-orders-api', class: 'service', environment: 'production', attributes: { tier: 1 } },
        { class: 'service' },
        { name: 'bulk-orders-db', class: 'database', attributes: { engine: 'postgres', port: 'five' } },
        { name: 'bulk-orders-db', class: 'database', attributes: { engine: 'postgres' } },
        { name: 'bulk-orders-db', class: 'database' },
        { name: 'bulk-orders-cache', class: 'cache', created_by: 'me' },
      ],
    },
  });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ id: expect.stringMatching(/^cibulk_[a-z0-9]+$/), operation: 'create', total: 6 });
  expect(res.headers.get('location')).toBe(`/prod/api/cmdb/cis/bulk/${res.body.id}`);
  const job = await finished(res.body.id);
  expect(job).toMatchObject({ total: 6, processed: 6, succeeded: 2, failed: 4 });
  const byIndex = Object.fromEntries(job.results.map((r: { index: number }) => [r.index, r]));
  expect(byIndex[0]).toMatchObject({ status: 'succeeded', ci_id: expect.stringMatching(/^CI\d{7}$/), error: null });
  expect(byIndex[1].error).toMatchObject({ code: 'VALIDATION_FAILED', validation_errors: [{ field: 'name', code: 'required', message: 'is required' }] });
  expect(byIndex[2].error.validation_errors).toEqual([expect.objectContaining({ field: 'attributes.port' })]);
  expect(byIndex[3]).toMatchObject({ status: 'succeeded' });
  expect(byIndex[4].error).toMatchObject({ code: 'ALREADY_EXISTS' });
  expect(byIndex[5].error.validation_errors).toEqual([expect.objectContaining({ field: 'created_by', code: 'read_only' })]);
  const created = await app.http('GET', `/prod/api/cmdb/cis/${byIndex[0].ci_id}`, { token });
  expect(created.body).toMatchObject({ name: 'bulk-orders-api', created_by: 'bulk@example.com', attributes: { tier: 1 } });
});

test('an update in the Stella dialect, polled there too; an unknown id fails alone as 404 would', async () => {
  const a = await someCi(app, token, { class: 'host' });
  const b = await someCi(app, token, { class: 'host' });
  const res = await app.http('POST', '/api/v1/cmdb/cis/bulk', {
    token,
    body: {
      operation: 'update',
      records: [
        { id: a.id, lifecycle_state: 'retired' },
        { id: 'CI9999995', lifecycle_state: 'retired' },
        { id: b.id, attributes: { cpus: 16 } },
        { id: b.id, attributes: { colour: 'red' } },
      ],
    },
  });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ success: true, data: { operation: 'update', total: 4 } });
  const job = await finished(res.body.data.id, '/api/v1');
  expect(job.results.map((r: { status: string }) => r.status)).toEqual(['succeeded', 'failed', 'succeeded', 'failed']);
  expect(job.results[1].error.code).toBe('NOT_FOUND');
  expect(job.results[3].error.validation_errors).toEqual([expect.objectContaining({ field: 'attributes.colour', code: 'unknown_field' })]);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${a.id}`, { token })).body.lifecycle_state).toBe('retired');
  expect((await app.http('GET', `/prod/api/cmdb/cis/${b.id}`, { token })).body.attributes).toEqual({ cpus: 16 });
});

test('the envelope is checked at once: over 100 records, none, or an unknown operation is a 400 naming the field', async () => {
  const many = Array.from({ length: 101 }, (_, i) => ({ name: `n${i}`, class: 'host' }));
  const tooMany = await app.http('POST', '/prod/api/cmdb/cis/bulk', { token, body: { operation: 'create', records: many } });
  expect(tooMany.status).toBe(400);
  expect(tooMany.body.error.validation_errors).toEqual([expect.objectContaining({ field: 'records', message: 'at most 100 records per request' })]);
  const none = await app.http('POST', '/api/v1/cmdb/cis/bulk', { token, body: { operation: 'delete', records: [] } });
  expect(none.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['operation', 'records']);
});

test('bulk needs cmdb:write; an unknown job is 404; a bulk spends from the records budget, not the request limit', async () => {
  const viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  const refused = await app.http('POST', '/prod/api/cmdb/cis/bulk', { token: viewer, body: { operation: 'create', records: [{ name: 'x', class: 'host' }] } });
  expect(refused.status).toBe(403);
  expect((await app.http('GET', '/prod/api/cmdb/cis/bulk/cibulk_0000000000', { token })).status).toBe(404);
  expect((await app.http('GET', '/prod/api/cmdb/cis/bulk/nope', { token })).status).toBe(404);
  const spender = await app.token('spender@example.com', { roles: ['sre'] });
  const records = Array.from({ length: 100 }, (_, i) => ({ name: `budget-${i}`, class: 'host' }));
  const first = await app.http('POST', '/prod/api/cmdb/cis/bulk', { token: spender, body: { operation: 'create', records } });
  expect(first.status).toBe(202);
  expect(first.headers.get('x-ratelimit-limit')).toBe('150');
  const second = await app.http('POST', '/prod/api/cmdb/cis/bulk', { token: spender, body: { operation: 'create', records } });
  expect(second.status).toBe(429);
  expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
});

import { startTestApp, type TestApp } from '../support/app';
import { createCi, someCi } from '../support/cmdb';

/** Configuration items over HTTP in both dialects: CRUD, per-class attributes, filters, pages, errors and permissions. */
let app: TestApp;
let sre: string;
let viewer: string;
let developer: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  sre = await app.token('jane.doe@example.com', { roles: ['sre'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  developer = await app.token('dev@example.com', { roles: ['developer'] });
});
afterAll(() => app.close());

const PAYMENTS_DB = {
  name: 'payments-db',
  class: 'database',
  environment: 'production',
  owner_group: 'Platform Engineering',
  description: 'Primary Aurora cluster of the payments service',
  attributes: { engine: 'aurora', version: '16', port: 5432 },
};

test('create in the StackFlow dialect: 201, a bare CI with Location; read back in both dialects', async () => {
  const res = await app.http('POST', '/prod/api/cmdb/cis', { token: sre, body: PAYMENTS_DB });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ ...PAYMENTS_DB, id: expect.stringMatching(/^CI\d{7}$/), lifecycle_state: 'operational', created_by: 'jane.doe@example.com', version: 1 });
  expect(res.headers.get('location')).toBe(`/prod/api/cmdb/cis/${res.body.id}`);
  const stella = await app.http('GET', `/api/v1/cmdb/cis/${res.body.id}`, { token: viewer });
  expect(stella.status).toBe(200);
  expect(stella.body).toMatchObject({ success: true, data: res.body });
  const v1 = await app.http('GET', `/prod/api/v1/cmdb/cis/${res.body.id}`, { token: viewer });
  expect(v1.body).toEqual(res.body);
});

test('create in the Stella dialect answers in its envelope', async () => {
  const res = await app.http('POST', '/api/v1/cmdb/cis', { token: sre, body: { name: 'orders-queue', class: 'queue', attributes: { technology: 'kafka', partitions: 12 } } });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ success: true, data: { name: 'orders-queue', class: 'queue', environment: null, attributes: { technology: 'kafka', partitions: 12 } } });
});

test.each(['/prod/api', '/api/v1'])('%s: a bad body is a 400 naming every field, attributes checked against the class', async (prefix) => {
  const res = await app.http('POST', `${prefix}/cmdb/cis`, {
    token: sre,
    body: { class: 'database', lifecycle_state: 'gone', attributes: { engine: 'postgres', port: 70000, colour: 'blue' } },
  });
  expect(res.status).toBe(400);
  const errors = prefix === '/api/v1' ? res.body.error.validationErrors : res.body.error.validation_errors;
  const fields = errors.map((e: { field: string }) => e.field).sort();
  expect(fields).toEqual(['attributes.colour', 'attributes.port', 'lifecycle_state', 'name']);
  expect(errors.find((e: { field: string }) => e.field === 'attributes.colour').message).toMatch(/not an attribute of a database CI \(known: engine, version, port, replicas\)/);
  const unknownClass = await app.http('POST', `${prefix}/cmdb/cis`, { token: sre, body: { name: 'x', class: 'spaceship' } });
  expect(unknownClass.status).toBe(400);
  expect(JSON.stringify(unknownClass.body)).toContain('"field":"class"');
});

test('a server-written field is refused as read-only', async () => {
  const res = await app.http('POST', '/prod/api/cmdb/cis', { token: sre, body: { name: 'ro', class: 'host', id: 'CI0000001' } });
  expect(res.status).toBe(400);
  expect(res.body.error.validation_errors).toEqual([expect.objectContaining({ field: 'id', code: 'read_only' })]);
});

test('one name per environment: a duplicate is 409 ALREADY_EXISTS, another environment is fine', async () => {
  await createCi(app, sre, { name: 'Billing-API', class: 'service', environment: 'staging' });
  const dup = await app.http('POST', '/prod/api/cmdb/cis', { token: sre, body: { name: 'billing-api', class: 'service', environment: 'staging' } });
  expect(dup.status).toBe(409);
  expect(dup.body.error.code).toBe('ALREADY_EXISTS');
  expect((await app.http('POST', '/prod/api/cmdb/cis', { token: sre, body: { name: 'billing-api', class: 'service', environment: 'production' } })).status).toBe(201);
});

test('PATCH merges attributes (null removes a key) and checks the result against the class it ends with', async () => {
  const ci = await someCi(app, sre, { class: 'host', attributes: { hostname: 'web-1', os: 'linux', cpus: 4 } });
  const res = await app.http('PATCH', `/prod/api/cmdb/cis/${ci.id}`, { token: sre, body: { lifecycle_state: 'maintenance', attributes: { cpus: 8, os: null, ip: '10.0.0.7' } } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ lifecycle_state: 'maintenance', attributes: { hostname: 'web-1', cpus: 8, ip: '10.0.0.7' }, version: 2 });
  expect(res.body.attributes).not.toHaveProperty('os');
  const badClass = await app.http('PATCH', `/api/v1/cmdb/cis/${ci.id}`, { token: sre, body: { class: 'queue' } });
  expect(badClass.status).toBe(400);
  expect(badClass.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['attributes.cpus', 'attributes.hostname', 'attributes.ip']);
  const badIp = await app.http('PATCH', `/prod/api/cmdb/cis/${ci.id}`, { token: sre, body: { attributes: { ip: 'not-an-ip' } } });
  expect(badIp.body.error.validation_errors).toEqual([expect.objectContaining({ field: 'attributes.ip' })]);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${ci.id}`, { token: sre })).body.version).toBe(2);
  // A PATCH without a body, or with an empty one, changes nothing: 400, and the version stays.
  expect((await app.http('PATCH', `/api/v1/cmdb/cis/${ci.id}`, { token: sre })).status).toBe(400);
  expect((await app.http('PATCH', `/prod/api/cmdb/cis/${ci.id}`, { token: sre, body: {} })).status).toBe(400);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${ci.id}`, { token: sre })).body.version).toBe(2);
});

test('DELETE answers 204, then the CI is 404 in both dialects', async () => {
  const ci = await someCi(app, sre);
  expect((await app.http('DELETE', `/prod/api/cmdb/cis/${ci.id}`, { token: sre })).status).toBe(204);
  const gone = await app.http('GET', `/prod/api/cmdb/cis/${ci.id}`, { token: sre });
  expect(gone.status).toBe(404);
  expect(gone.body.error.code).toBe('NOT_FOUND');
  expect((await app.http('GET', `/api/v1/cmdb/cis/${ci.id}`, { token: sre })).body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  expect((await app.http('DELETE', `/prod/api/cmdb/cis/${ci.id}`, { token: sre })).status).toBe(404);
  expect((await app.http('PATCH', '/prod/api/cmdb/cis/CI9999999', { token: sre, body: { description: 'x' } })).status).toBe(404);
  expect((await app.http('GET', '/prod/api/cmdb/cis/not-a-ci', { token: sre })).status).toBe(404);
});

test('cmdb:write is needed to write, cmdb:read to read; a 403 names the permission', async () => {
  const refused = await app.http('POST', '/prod/api/cmdb/cis', { token: viewer, body: { name: 'nope', class: 'host' } });
  expect(refused.status).toBe(403);
  expect(refused.body.error.details).toMatchObject({ required: 'cmdb:write' });
  expect((await app.http('POST', '/api/v1/cmdb/cis', { token: developer, body: { name: 'nope', class: 'host' } })).status).toBe(403);
  const noRead = await app.token('nobody@example.com', { roles: [], permissions: ['change:read'] });
  const list = await app.http('GET', '/prod/api/cmdb/cis', { token: noRead });
  expect(list.status).toBe(403);
  expect(list.body.error.details).toMatchObject({ required: 'cmdb:read' });
});

describe('filters and pages', () => {
  let tenantToken: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    // A tenant of its own, so counts are exact.
    tenantToken = await app.token('filters@example.com', { roles: ['sre'], tenant: 'cmdb-filters' });
    const make = async (key: string, body: Record<string, unknown>) => (ids[key] = (await createCi(app, tenantToken, body)).id);
    await make('pg', { name: 'Payments-DB', class: 'database', environment: 'production', owner_group: 'DBA', attributes: { engine: 'postgres', port: 5432 } });
    await make('pgStaging', { name: 'payments-db', class: 'database', environment: 'staging', owner_group: 'DBA', attributes: { engine: 'postgres', port: 6432 } });
    await make('api', { name: 'payments-api', class: 'service', environment: 'production', owner_group: 'Payments', description: 'Card authorisation service', attributes: { tier: 0 } });
    await make('web', { name: 'web-1', class: 'host', environment: 'production', owner_group: 'SRE', lifecycle_state: 'retired', attributes: { os: 'linux' } });
    await make('pct', { name: 'pct_100%', class: 'storage', attributes: { kind: 'object' } });
  });

  const list = async (query: string, prefix = '/prod/api') => {
    const res = await app.http('GET', `${prefix}/cmdb/cis?${query}`, { token: tenantToken });
    expect(res.status).toBe(200);
    return res.body;
  };
  const idsOf = (body: { data: Array<{ id: string }> }) => body.data.map((c) => c.id).sort();

  test.each([
    ['class=database', ['pg', 'pgStaging']],
    ['class=service,host', ['api', 'web']],
    ['environment=production', ['pg', 'api', 'web']],
    ['owner=DBA', ['pg', 'pgStaging']],
    ['lifecycle_state=retired', ['web']],
    ['name=PAY', ['pg', 'pgStaging', 'api']],
    ['name=pct_1', ['pct']],
    ['name=pct%25', []],
    ['attr.engine=postgres', ['pg', 'pgStaging']],
    ['attr.port=5432', ['pg']],
    ['attr.tier=0', ['api']],
    ['attr.engine=postgres&environment=staging', ['pgStaging']],
    ['q=authorisation', ['api']],
    ['environment=', ['pg', 'pgStaging', 'api', 'web', 'pct']],
  ])('%s', async (query, expected) => {
    const body = await list(query);
    expect(idsOf(body)).toEqual(expected.map((k) => ids[k]).sort());
    expect(body.total).toBe(expected.length);
  });

  test('StackFlow pages by cursor: limit, next_cursor, total; the last page has next_cursor null', async () => {
    const first = await list('limit=2&sort=name');
    expect(first.data).toHaveLength(2);
    expect(first.total).toBe(5);
    const second = await list(`limit=2&sort=name&cursor=${first.next_cursor}`);
    const third = await list(`limit=2&sort=name&cursor=${second.next_cursor}`);
    expect(third.next_cursor).toBeNull();
    const names = [...first.data, ...second.data, ...third.data].map((c: { name: string }) => c.name);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(5);
  });

  test('Stella pages by number with its pagination meta', async () => {
    const body = await list('pageSize=2&page=2&sort=-created_at', '/api/v1');
    expect(body.success).toBe(true);
    expect(body.data).toHaveLength(2);
    expect(body.meta.pagination).toMatchObject({ page: 2, pageSize: 2, totalItems: 5, totalPages: 3, hasNext: true, hasPrevious: true });
  });

  test.each([
    ['attr.Bad-Key=1', 'attr.Bad-Key'],
    ['class=spaceship', 'class'],
    ['sort=colour', 'sort'],
    ['limit=500', 'limit'],
  ])('%s is a 400 naming %s', async (query, field) => {
    const res = await app.http('GET', `/prod/api/cmdb/cis?${query}`, { token: tenantToken });
    expect(res.status).toBe(400);
    expect(res.body.error.validation_errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  test('a forged cursor is 400 INVALID_CURSOR', async () => {
    const res = await app.http('GET', '/prod/api/cmdb/cis?cursor=garbage', { token: tenantToken });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_CURSOR');
  });

  test('another tenant sees none of them', async () => {
    const other = await app.http('GET', '/prod/api/cmdb/cis?owner=DBA', { token: sre });
    expect(other.body).toMatchObject({ data: [], total: 0 });
  });
});

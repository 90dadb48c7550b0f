import { startTestApp, type TestApp } from '../support/app';
import { API, auditOf, createEnvironment, failure, get, post, refused, unique, withLoneSurrogate } from '../support/inventory';

/** Targets over HTTP: the issue's body as written, label and environment filters, paging in both dialects, rules, roles and tenancy. */
let app: TestApp;
let manager: string;
let developer: string;
let viewer: string;
let stranger: string;
let env: any;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  developer = await app.token('dev@example.com', { roles: ['developer'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  stranger = await app.token('rm@other.example.com', { roles: ['release-manager'], tenant: `${app.tenant}-other` });
  env = await createEnvironment(app, manager, { name: 'Production', order: 3 });
});
afterAll(() => app.close());

test("the issue's body as written: 201 with labels, Location, and an audit row", async () => {
  const res = await app.http('POST', `${API}/targets`, { token: manager, body: { name: 'web-1', environmentId: env.id, labels: { role: 'web' } } });
  expect(res.status).toBe(201);
  const target = res.body.data;
  expect(target).toEqual({
    id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    name: 'web-1',
    environmentId: env.id,
    labels: { role: 'web' },
    properties: {},
    healthCheck: null,
    agentId: null,
    agentName: null,
    ciId: null,
    createdAt: expect.any(String),
    updatedAt: expect.any(String),
  });
  expect(res.headers.get('location')).toBe(`${API}/targets/${target.id}`);
  expect(await get(app, viewer, `/targets/${target.id}`)).toEqual(target);
  expect(await auditOf(app, target.id)).toEqual([expect.objectContaining({ action: 'target.create', actor: 'rm@example.com', resource_type: 'target' })]);
  // A duplicate name (any case) is a 409.
  expect(await failure(app, manager, 'POST', '/targets', 409, { name: 'WEB-1', environmentId: env.id })).toMatchObject({ code: 'ALREADY_EXISTS' });
});

test('lists filter by environment and label, and page in both dialects', async () => {
  const other = await createEnvironment(app, manager);
  const made = [];
  for (const [name, role, where] of [['db-a', 'db', other], ['db-b', 'db', other], ['db-c', 'db', other], ['cache-a', 'cache', other]] as const) {
    made.push(await post(app, manager, '/targets', { name, environmentId: where.id, labels: { role, zone: 'eu-1' } }));
  }
  const byEnv = await app.http('GET', `${API}/targets?environmentId=${other.id}&pageSize=2`, { token: viewer });
  expect(byEnv.body.data.map((t: any) => t.name)).toEqual(['cache-a', 'db-a']);
  expect(byEnv.body.meta.pagination).toMatchObject({ page: 1, pageSize: 2, totalItems: 4, totalPages: 2, hasNext: true });
  const dbs = await app.http('GET', `${API}/targets?label=role%3Ddb&environmentId=${other.id}`, { token: viewer });
  expect(dbs.body.data.map((t: any) => t.name)).toEqual(['db-a', 'db-b', 'db-c']);
  const none = await app.http('GET', `${API}/targets?label=role%3Dweb&environmentId=${other.id}`, { token: viewer });
  expect(none.body).toMatchObject({ data: [], meta: { pagination: { totalItems: 0, totalPages: 1 } } });

  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await app.http('GET', `/prod/api/targets?environmentId=${other.id}&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: viewer });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(4);
    seen.push(...res.body.data.map((t: any) => t.name));
    cursor = res.body.next_cursor;
  } while (cursor);
  expect(seen).toEqual(['cache-a', 'db-a', 'db-b', 'db-c']);
  await refused(app, viewer, 'GET', '/targets?label=role', undefined, 'label');
  await refused(app, viewer, 'GET', '/targets?environmentId=prod', undefined, 'environmentId');
});

test('PUT moves a target and replaces its labels; an unknown environment is 422; audited', async () => {
  const other = await createEnvironment(app, manager);
  const target = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id, labels: { role: 'web' } });
  const moved = await app.http('PUT', `${API}/targets/${target.id}`, { token: manager, body: { name: target.name, environmentId: other.id, labels: { role: 'api', tier: 'gold' } } });
  expect(moved.status).toBe(200);
  expect(moved.body.data).toMatchObject({ environmentId: other.id, labels: { role: 'api', tier: 'gold' } });
  const missing = '00000000-0000-4000-8000-000000000000';
  expect(await failure(app, manager, 'PUT', `/targets/${target.id}`, 422, { name: target.name, environmentId: missing })).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
  expect(await failure(app, manager, 'POST', '/targets', 422, { name: 'orphan', environmentId: missing })).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
  expect(await failure(app, manager, 'PUT', `/targets/${missing}`, 404, { name: 'x', environmentId: env.id })).toMatchObject({ code: 'NOT_FOUND' });
  expect((await auditOf(app, target.id)).map((a) => a.action)).toEqual(['target.create', 'target.update']);
});

test('PATCH changes only what it names: labels and properties merge key by key (null removes one), everything else stays; audited', async () => {
  const body = {
    name: unique('web').name,
    environmentId: env.id,
    labels: { role: 'web', zone: 'eu-1' },
    properties: { port: '4102', region: 'eu' },
    healthCheck: { url: 'http://127.0.0.1:4102/health', retries: 5, intervalSeconds: 1 },
  };
  const target = await post(app, manager, '/targets', body);
  const patch = (b: unknown, token = manager) => app.http('PATCH', `${API}/targets/${target.id}`, { token, body: b });

  // The README's one-field change: a property added, nothing else touched.
  const one = await patch({ properties: { fail_version: '2.0.0' } });
  expect(one.status).toBe(200);
  expect(one.body.data).toEqual({ ...target, properties: { port: '4102', region: 'eu', fail_version: '2.0.0' }, updatedAt: expect.any(String) });
  expect(await get(app, viewer, `/targets/${target.id}`)).toEqual(one.body.data);

  const more = await patch({ labels: { tier: 'gold', zone: null }, properties: { region: null } });
  expect(more.body.data).toMatchObject({ labels: { role: 'web', tier: 'gold' }, properties: { port: '4102', fail_version: '2.0.0' }, healthCheck: target.healthCheck });
  expect(Object.keys(more.body.data.labels)).toEqual(['role', 'tier']);
  // A health check given is replaced whole (its defaults apply again); null clears it; a rename leaves the rest.
  const check = await patch({ healthCheck: { command: 'true' } });
  expect(check.body.data.healthCheck).toEqual({ url: null, command: 'true', retries: 3, intervalSeconds: 2, timeoutSeconds: 5 });
  const renamed = await patch({ name: `${body.name}-b`, healthCheck: null });
  expect(renamed.body.data).toMatchObject({ name: `${body.name}-b`, healthCheck: null, labels: { role: 'web', tier: 'gold' }, environmentId: env.id });
  expect((await patch({ labels: {} })).body.data).toEqual({ ...renamed.body.data, updatedAt: expect.any(String) });

  const audit = await auditOf(app, target.id);
  expect(audit.map((a) => a.action)).toEqual(['target.create', 'target.patch', 'target.patch', 'target.patch', 'target.patch', 'target.patch']);
  expect(audit[1]).toMatchObject({ actor: 'rm@example.com', before: { properties: { port: '4102', region: 'eu' } }, after: { properties: { port: '4102', region: 'eu', fail_version: '2.0.0' }, labels: body.labels } });
});

test('PATCH refuses what PUT refuses, with the same statuses: 400 naming the field, 404, 409, 422; read-only roles and other tenants get 403 and 404', async () => {
  const target = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id, labels: { role: 'web' } });
  const taken = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
  const path = `/targets/${target.id}`;
  await refused(app, manager, 'PATCH', path, { labels: { 'bad key!': 'v' } }, 'labels.bad key!');
  await refused(app, manager, 'PATCH', path, { properties: { port: 8080 } }, 'properties.port');
  await refused(app, manager, 'PATCH', path, { name: '  ' }, 'name');
  await refused(app, manager, 'PATCH', path, { lables: {} }, 'lables');
  expect((await refused(app, manager, 'PATCH', path, {}, 'body'))[0].message).toBe('send at least one field to change');
  expect((await app.http('PATCH', `${API}${path}`, { token: manager })).status).toBe(400);
  await refused(app, manager, 'PATCH', path, { healthCheck: { url: 'ftp://x/y' } }, 'healthCheck.url');
  // The merged target is held to PUT's rules: 50 labels at most once merged.
  await refused(app, manager, 'PATCH', path, { labels: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) }, 'labels');
  expect(await failure(app, manager, 'PATCH', path, 409, { name: taken.name.toUpperCase() })).toMatchObject({ code: 'ALREADY_EXISTS' });
  expect(await failure(app, manager, 'PATCH', path, 422, { environmentId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
  expect(await failure(app, manager, 'PATCH', '/targets/00000000-0000-4000-8000-000000000000', 404, { labels: {} })).toMatchObject({ code: 'NOT_FOUND' });
  for (const token of [viewer, developer]) expect(await failure(app, token, 'PATCH', path, 403, { labels: { role: 'db' } })).toMatchObject({ code: 'FORBIDDEN' });
  await failure(app, stranger, 'PATCH', path, 404, { labels: { role: 'db' } });
  expect(await get(app, viewer, path)).toMatchObject({ name: target.name, labels: { role: 'web' } });
});

test('bad bodies are 400s naming the field', async () => {
  await refused(app, manager, 'POST', '/targets', { environmentId: env.id }, 'name');
  await refused(app, manager, 'POST', '/targets', { name: 'x' }, 'environmentId');
  await refused(app, manager, 'POST', '/targets', { name: 'x', environmentId: 'prod' }, 'environmentId');
  await refused(app, manager, 'POST', '/targets', { name: 'x', environmentId: env.id, labels: { role: 5 } }, 'labels.role');
  await refused(app, manager, 'POST', '/targets', { name: 'x', environmentId: env.id, labels: { 'bad key!': 'v' } }, 'labels.bad key!');
  await refused(app, manager, 'POST', '/targets', { name: 'x', environmentId: env.id, labels: { role: 'a\u0000b' } }, 'labels.role');
  await refused(app, manager, 'POST', '/targets', withLoneSurrogate({ environmentId: env.id }, 'name'), 'name');
  await refused(app, manager, 'POST', '/targets', { name: 'x', environmentId: env.id, lables: {} }, 'lables');
  const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
  await refused(app, manager, 'POST', '/targets', { name: 'x', environmentId: env.id, labels: tooMany }, 'labels');
});

test('a viewer and a developer read but cannot write', async () => {
  const target = await post(app, manager, '/targets', { name: unique('ro').name, environmentId: env.id });
  for (const token of [viewer, developer]) {
    expect((await app.http('GET', `${API}/targets/${target.id}`, { token })).status).toBe(200);
    await failure(app, token, 'POST', '/targets', 403, { name: 'nope', environmentId: env.id });
    await failure(app, token, 'PUT', `/targets/${target.id}`, 403, { name: 'nope', environmentId: env.id });
    await failure(app, token, 'DELETE', `/targets/${target.id}`, 403);
  }
});

test("delete is 204 and audited; another tenant's target is 404 for every operation", async () => {
  const target = await post(app, manager, '/targets', { name: unique('gone').name, environmentId: env.id });
  await failure(app, stranger, 'GET', `/targets/${target.id}`, 404);
  await failure(app, stranger, 'PUT', `/targets/${target.id}`, 404, { name: 'mine', environmentId: env.id });
  await failure(app, stranger, 'DELETE', `/targets/${target.id}`, 404);
  await failure(app, stranger, 'GET', `/prod/api/targets/${target.id}`, 404);
  // Nor can another tenant place a target in this tenant's environment.
  expect(await failure(app, stranger, 'POST', '/targets', 422, { name: 'intruder', environmentId: env.id })).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
  expect((await app.http('GET', `${API}/targets?environmentId=${env.id}`, { token: stranger })).body.data).toEqual([]);

  expect((await app.http('DELETE', `${API}/targets/${target.id}`, { token: manager })).status).toBe(204);
  await failure(app, manager, 'GET', `/targets/${target.id}`, 404);
  await failure(app, manager, 'DELETE', `/targets/${target.id}`, 404);
  expect((await auditOf(app, target.id)).map((a) => a.action)).toEqual(['target.create', 'target.delete']);
});

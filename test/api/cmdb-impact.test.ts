import { startTestApp, type TestApp } from '../support/app';
import { relate, someCi } from '../support/cmdb';

/** Relationships and the impact walk: what breaks if a CI goes down, on a graph with a cycle. */
let app: TestApp;
let sre: string;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  sre = await app.token('sre@example.com', { roles: ['sre'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
});
afterAll(() => app.close());

test('relationships: create in both dialects, list by direction and type, delete; errors name the problem', async () => {
  const api = await someCi(app, sre, { class: 'service' });
  const db = await someCi(app, sre, { class: 'database' });
  const host = await someCi(app, sre, { class: 'host' });
  const res = await app.http('POST', `/prod/api/cmdb/cis/${api.id}/relationships`, { token: sre, body: { type: 'depends_on', target_id: db.id } });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ id: expect.stringMatching(/^rel_/), source_id: api.id, type: 'depends_on', target_id: db.id, direction: 'outgoing', created_by: 'sre@example.com' });
  const stella = await app.http('POST', `/api/v1/cmdb/cis/${db.id}/relationships`, { token: sre, body: { type: 'runs_on', target_id: host.id } });
  expect(stella.status).toBe(201);
  expect(stella.body).toMatchObject({ success: true, data: { source_id: db.id, type: 'runs_on', target_id: host.id } });

  const all = await app.http('GET', `/prod/api/cmdb/cis/${db.id}/relationships`, { token: viewer });
  expect(all.body.total).toBe(2);
  expect(all.body.data.map((r: { direction: string }) => r.direction).sort()).toEqual(['incoming', 'outgoing']);
  const incoming = await app.http('GET', `/api/v1/cmdb/cis/${db.id}/relationships?direction=incoming`, { token: viewer });
  expect(incoming.body.data).toEqual([expect.objectContaining({ source_id: api.id, direction: 'incoming' })]);
  const typed = await app.http('GET', `/prod/api/cmdb/cis/${db.id}/relationships?type=part_of`, { token: viewer });
  expect(typed.body).toMatchObject({ data: [], total: 0 });

  const dup = await app.http('POST', `/prod/api/cmdb/cis/${api.id}/relationships`, { token: sre, body: { type: 'depends_on', target_id: db.id } });
  expect(dup.status).toBe(409);
  expect(dup.body.error.code).toBe('ALREADY_EXISTS');
  const unknown = await app.http('POST', `/prod/api/cmdb/cis/${api.id}/relationships`, { token: sre, body: { type: 'depends_on', target_id: 'CI9999998' } });
  expect(unknown.status).toBe(422);
  expect(unknown.body.error.code).toBe('UNKNOWN_CI');
  const self = await app.http('POST', `/prod/api/cmdb/cis/${api.id}/relationships`, { token: sre, body: { type: 'depends_on', target_id: api.id } });
  expect(self.body.error.code).toBe('SELF_RELATIONSHIP');
  const bad = await app.http('POST', `/api/v1/cmdb/cis/${api.id}/relationships`, { token: sre, body: { type: 'likes', target_id: 'db' } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['target_id', 'type']);
  expect((await app.http('POST', `/prod/api/cmdb/cis/CI9999997/relationships`, { token: sre, body: { type: 'depends_on', target_id: db.id } })).status).toBe(404);
  expect((await app.http('GET', `/prod/api/cmdb/cis/CI9999997/relationships`, { token: sre })).status).toBe(404);
  const refused = await app.http('POST', `/prod/api/cmdb/cis/${api.id}/relationships`, { token: viewer, body: { type: 'part_of', target_id: host.id } });
  expect(refused.status).toBe(403);

  expect((await app.http('DELETE', `/prod/api/cmdb/cis/${db.id}/relationships/${res.body.id}`, { token: viewer })).status).toBe(403);
  expect((await app.http('DELETE', `/prod/api/cmdb/cis/${host.id}/relationships/${res.body.id}`, { token: sre })).status).toBe(404);
  expect((await app.http('DELETE', `/prod/api/cmdb/cis/${db.id}/relationships/${res.body.id}`, { token: sre })).status).toBe(204);
  expect((await app.http('DELETE', `/api/v1/cmdb/cis/${db.id}/relationships/${res.body.id}`, { token: sre })).status).toBe(404);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${db.id}/relationships`, { token: viewer })).body.total).toBe(1);
});

test('impact: dependants transitively, each once at its shortest depth with its path; a cycle ends the walk', async () => {
  // storage <-part_of- db <-depends_on- api <-depends_on- web; api <-runs_on- worker; and db depends_on web closes a cycle.
  const storage = await someCi(app, sre, { class: 'storage' });
  const db = await someCi(app, sre, { class: 'database' });
  const api = await someCi(app, sre, { class: 'service' });
  const web = await someCi(app, sre, { class: 'application' });
  const worker = await someCi(app, sre, { class: 'application' });
  const loner = await someCi(app, sre, { class: 'host' });
  await relate(app, sre, db.id, 'part_of', storage.id);
  await relate(app, sre, api.id, 'depends_on', db.id);
  await relate(app, sre, web.id, 'depends_on', api.id);
  await relate(app, sre, worker.id, 'runs_on', api.id);
  await relate(app, sre, db.id, 'depends_on', web.id);

  const res = await app.http('GET', `/prod/api/cmdb/cis/${storage.id}/impact`, { token: viewer });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ ci_id: storage.id, depth: 5, total: 4, truncated: false });
  const byId = Object.fromEntries(res.body.affected.map((a: { id: string }) => [a.id, a]));
  expect(byId[db.id]).toMatchObject({ depth: 1, path: [storage.id, db.id], via: 'part_of', class: 'database' });
  expect(byId[api.id]).toMatchObject({ depth: 2, path: [storage.id, db.id, api.id], via: 'depends_on' });
  expect(byId[web.id]).toMatchObject({ depth: 3, path: [storage.id, db.id, api.id, web.id] });
  expect(byId[worker.id]).toMatchObject({ depth: 3, via: 'runs_on' });
  expect(byId[storage.id]).toBeUndefined();
  expect(res.body.affected.map((a: { depth: number }) => a.depth)).toEqual([1, 2, 3, 3]);

  // Inside the cycle: db -> api -> web -> db; the walk from api reaches db through web and stops there.
  const cyclic = await app.http('GET', `/api/v1/cmdb/cis/${api.id}/impact?depth=10`, { token: viewer });
  expect(cyclic.status).toBe(200);
  const cycle = Object.fromEntries(cyclic.body.data.affected.map((a: { id: string }) => [a.id, a]));
  expect(Object.keys(cycle).sort()).toEqual([web.id, worker.id, db.id].sort());
  expect(cycle[db.id]).toMatchObject({ depth: 2, path: [api.id, web.id, db.id] });

  const shallow = await app.http('GET', `/prod/api/cmdb/cis/${storage.id}/impact?depth=1`, { token: viewer });
  expect(shallow.body.affected.map((a: { id: string }) => a.id)).toEqual([db.id]);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${loner.id}/impact`, { token: viewer })).body).toMatchObject({ total: 0, affected: [] });
});

test('impact: depth out of range is a 400 naming depth; an unknown CI is 404; no cmdb:read is 403', async () => {
  const ci = await someCi(app, sre);
  for (const depth of ['0', '11', 'deep']) {
    const res = await app.http('GET', `/prod/api/cmdb/cis/${ci.id}/impact?depth=${depth}`, { token: viewer });
    expect(res.status).toBe(400);
    expect(res.body.error.validation_errors.map((e: { field: string }) => e.field)).toEqual(['depth']);
  }
  expect((await app.http('GET', '/api/v1/cmdb/cis/CI9999996/impact', { token: viewer })).status).toBe(404);
  const noRead = await app.token('nobody@example.com', { roles: [], permissions: ['change:read'] });
  expect((await app.http('GET', `/prod/api/cmdb/cis/${ci.id}/impact`, { token: noRead })).status).toBe(403);
});

test('deleting a CI removes its relationships; its dependants stay', async () => {
  const base = await someCi(app, sre, { class: 'host' });
  const app1 = await someCi(app, sre, { class: 'application' });
  await relate(app, sre, app1.id, 'runs_on', base.id);
  expect((await app.http('DELETE', `/prod/api/cmdb/cis/${base.id}`, { token: sre })).status).toBe(204);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${app1.id}/relationships`, { token: sre })).body.total).toBe(0);
  expect((await app.http('GET', `/prod/api/cmdb/cis/${app1.id}`, { token: sre })).status).toBe(200);
});

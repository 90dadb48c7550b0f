import { startTestApp, type TestApp } from '../support/app';
import { createChange, standardChange } from '../support/changes';
import { relate, someCi } from '../support/cmdb';
import { createEnvironment, post } from '../support/inventory';

/** What the CMDB feeds: a change's risk (its CI's blast radius), an incident's detail (changes on its CI and dependants), a target's CI. */
let app: TestApp;
let sre: string;

beforeAll(async () => {
  app = await startTestApp();
  sre = await app.token('sre@example.com', { roles: ['sre'] });
});
afterAll(() => app.close());

test("a change on a CMDB CI counts its blast radius as a factor with its weight; other changes score as before", async () => {
  const db = await someCi(app, sre, { class: 'database' });
  const dependants = [];
  for (let i = 0; i < 3; i++) dependants.push(await someCi(app, sre, { class: 'service' }));
  for (const d of dependants) await relate(app, sre, d.id, 'depends_on', db.id);
  const front = await someCi(app, sre, { class: 'application' });
  await relate(app, sre, front.id, 'depends_on', dependants[0].id);

  const change = await createChange(app, sre, standardChange({ ci_id: db.id }));
  const risk = (await app.http('GET', `/prod/api/changes/${change.id}/risk`, { token: sre })).body;
  expect(risk.model_version).toBe('tollgate-risk-1.2');
  expect(risk.factors).toEqual(expect.arrayContaining([{ factor: `Blast radius of ${db.id}: 4 dependant CIs (3 direct)`, weight: 0.1, score: 60 }]));
  expect(risk.factors[0].weight).toBe(0.25);
  expect(risk.factors.reduce((s: number, f: { weight: number }) => s + f.weight, 0)).toBeCloseTo(1, 9);

  const unknown = await createChange(app, sre, standardChange({ ci_id: 'CI9999990' }));
  const plain = (await app.http('GET', `/api/v1/changes/${unknown.id}/risk`, { token: sre })).body.data;
  expect(plain.factors.some((f: { factor: string }) => /Blast radius/.test(f.factor))).toBe(false);
  expect(plain.factors[0].weight).toBe(0.35);
});

test("an incident's detail lists the changes on its CI and on the CIs that need it; lists do not", async () => {
  const cache = await someCi(app, sre, { class: 'cache' });
  const api = await someCi(app, sre, { class: 'service' });
  const elsewhere = await someCi(app, sre, { class: 'service' });
  await relate(app, sre, api.id, 'depends_on', cache.id);
  const onCache = await createChange(app, sre, standardChange({ short_description: 'Resize the cache', ci_id: cache.id }));
  const onApi = await createChange(app, sre, standardChange({ short_description: 'Deploy the API', ci_id: api.id }));
  await createChange(app, sre, standardChange({ short_description: 'Unrelated', ci_id: elsewhere.id }));

  const incident = (await app.http('POST', '/prod/api/incidents', { token: sre, body: { short_description: 'Cache misses', ci_id: cache.id } })).body;
  const detail = await app.http('GET', `/prod/api/incidents/${incident.id}`, { token: sre });
  expect(detail.status).toBe(200);
  expect(detail.body.ci_changes.map((c: { id: string }) => c.id).sort()).toEqual([onCache.id, onApi.id].sort());
  expect(detail.body.ci_changes.find((c: { id: string }) => c.id === onApi.id)).toMatchObject({ ci_id: api.id, short_description: 'Deploy the API', state: expect.any(String) });
  const stella = await app.http('GET', `/api/v1/incidents/${incident.id}`, { token: sre });
  expect(stella.body.data.ci_changes).toHaveLength(2);

  const onlyIncidents = await app.token('inc@example.com', { roles: [], permissions: ['incident:read'] });
  expect((await app.http('GET', `/prod/api/incidents/${incident.id}`, { token: onlyIncidents })).body.ci_changes).toEqual([]);
  const none = (await app.http('POST', '/prod/api/incidents', { token: sre, body: { short_description: 'No CI' } })).body;
  expect((await app.http('GET', `/prod/api/incidents/${none.id}`, { token: sre })).body.ci_changes).toEqual([]);
});

test('a target names its CI (ciId); a CI of no tenant is 422 UNKNOWN_CI, a malformed one 400', async () => {
  const manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  const host = await someCi(app, manager, { class: 'host' });
  const env = await createEnvironment(app, manager);
  const target = await post(app, manager, '/targets', { name: `cmdb-target-${Date.now()}`, environmentId: env.id, ciId: host.id });
  expect(target).toMatchObject({ ciId: host.id });
  const patched = await app.http('PATCH', `/api/v1/targets/${target.id}`, { token: manager, body: { ciId: null } });
  expect(patched.body.data.ciId).toBeNull();
  const unknown = await app.http('PATCH', `/api/v1/targets/${target.id}`, { token: manager, body: { ciId: 'CI9999991' } });
  expect(unknown.status).toBe(422);
  expect(unknown.body.error.code).toBe('UNKNOWN_CI');
  const bad = await app.http('PATCH', `/api/v1/targets/${target.id}`, { token: manager, body: { ciId: 'web-1' } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.validationErrors).toEqual([expect.objectContaining({ field: 'ciId' })]);
});

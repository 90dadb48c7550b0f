import { startTestApp, type TestApp } from '../support/app';
import { approve, newDigest, reaches, scene, type Scene } from '../support/promotion-scene';

/**
 * Promotion pipelines: each component's releases follow the order of its own
 * pipeline, so one team's staging is not a required step for another team's
 * dev; a component without one follows the tenant's environment order.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const orderGate = (gates: any[]) => gates.find((g) => g.gateName === 'promotion-order-gate');

/** Four environments whose tenant order (the default pipeline) is dev-a, dev-b, staging-a, prod; none needs an approval. */
async function environments(s: Scene) {
  const env = (name: string, order: number) => s.expect(201, 'POST', '/environments', s.admin, { name, order, requiredApprovals: 0 });
  return { devA: await env('dev-a', 1), devB: await env('dev-b', 2), stagingA: await env('staging-a', 3), prod: await env('prod', 4) };
}

/** A component (in `pipelineId`, or the default) with a synced version, and a release of it. */
async function released(s: Scene, name: string, pipelineId?: string | null) {
  const component = await s.expect(201, 'POST', '/components', s.admin, { name, ...(pipelineId !== undefined ? { pipelineId } : {}) });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0', digest: newDigest() }] });
  const release = await s.expect(201, 'POST', '/releases', s.admin, { name: `${name}-1.0.0`, version: '1.0.0', components: [{ componentId: component.id, version: '1.0.0' }] });
  return { component, release };
}

const preview = (s: Scene, release: any, env: any) => s.expect(200, 'POST', '/promotions/preview-gates', s.admin, { releaseId: release.id, targetEnvironmentId: env.id });
const promote = (s: Scene, release: any, env: any) => s.call('POST', '/promotions', s.admin, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'ship it' });

async function deployed(s: Scene, release: any, env: any) {
  const res = await promote(s, release, env);
  expect(res.status).toBe(201);
  return reaches(s, res.body.data.id, 'deployed');
}

describe('two teams, two pipelines', () => {
  test('team B reaches prod after dev-b alone, while team A still needs staging-a; each gate names its pipeline', async () => {
    const s = await scene(app);
    const { devA, devB, stagingA, prod } = await environments(s);
    const teamA = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-a', description: 'web', environmentIds: [devA.id, stagingA.id, prod.id] });
    const teamB = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-b', environmentIds: [devB.id, prod.id] });
    expect(teamB).toMatchObject({ name: 'team-b', description: null, environments: [{ id: devB.id, name: 'dev-b' }, { id: prod.id, name: 'prod' }], components: 0, version: 1 });
    const a = await released(s, 'web-a', teamA.id);
    const b = await released(s, 'api-b', teamB.id);
    expect(b.component.pipelineId).toBe(teamB.id);

    // Before dev-b, B's release may not reach prod, and the preview shows B's order, not the tenant's.
    const early = await preview(s, b.release, prod);
    expect(early.wouldPass).toBe(false);
    expect(early.pipeline).toEqual({ id: teamB.id, name: 'team-b', environments: [{ id: devB.id, name: 'dev-b' }, { id: prod.id, name: 'prod' }] });
    expect(orderGate(early.gates)).toMatchObject({ passed: false, blocking: true, message: 'api-b-1.0.0 is not deployed to dev-b; promote it there first' });

    const first = await deployed(s, b.release, devB);
    expect(orderGate(first.gates)).toMatchObject({ passed: true, message: 'dev-b is the first environment of pipeline team-b' });
    // staging-a (before prod in the tenant's order) is not a step of B's pipeline.
    const res = await promote(s, b.release, prod);
    expect(res.status).toBe(201);
    const toProd = res.body.data;
    expect(toProd).toMatchObject({ sourceEnvironmentName: 'dev-b' });
    expect(orderGate(toProd.gates)).toEqual({
      gateName: 'promotion-order-gate',
      passed: true,
      blocking: false,
      message: 'api-b-1.0.0 is deployed to dev-b',
      details: { previousEnvironmentId: devB.id, previousEnvironmentName: 'dev-b', targetOrder: 4, pipelineId: teamB.id, pipelineName: 'team-b', pipelineOrder: ['dev-b', 'prod'] },
    });
    expect(toProd.gateInputs.pipeline).toEqual({ id: teamB.id, name: 'team-b', environments: [{ id: devB.id, name: 'dev-b' }, { id: prod.id, name: 'prod' }] });
    await reaches(s, toProd.id, 'deployed');

    // A's release, deployed to dev-a, still needs staging-a before prod.
    await deployed(s, a.release, devA);
    const blocked = await promote(s, a.release, prod);
    expect(blocked.status).toBe(422);
    expect(blocked.body.error.code).toBe('PROMOTION_BLOCKED');
    expect(orderGate(blocked.body.error.details.gates)).toMatchObject({
      passed: false,
      message: 'web-a-1.0.0 is not deployed to staging-a; promote it there first',
      details: { pipelineName: 'team-a', pipelineOrder: ['dev-a', 'staging-a', 'prod'] },
    });
  });

  test('a promotion to an environment outside the release’s pipeline is refused by name; its preview says why', async () => {
    const s = await scene(app);
    const { devB, stagingA, prod } = await environments(s);
    const teamB = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-b', environmentIds: [devB.id, prod.id] });
    const b = await released(s, 'api-b', teamB.id);

    const res = await promote(s, b.release, stagingA);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'ENVIRONMENT_NOT_IN_PIPELINE',
      message: 'staging-a is not in pipeline team-b (dev-b → prod), which api-b-1.0.0 follows',
      details: { environmentId: stagingA.id, pipelineId: teamB.id, pipelineName: 'team-b' },
    });
    const seen = await preview(s, b.release, stagingA);
    expect(seen.wouldPass).toBe(false);
    expect(orderGate(seen.gates)).toMatchObject({ passed: false, blocking: true, details: { reason: 'ENVIRONMENT_NOT_IN_PIPELINE', previousEnvironmentId: null } });
  });
});

describe('an open promotion is re-gated when its pipeline changes', () => {
  test('taking its target out of the pipeline blocks the waiting promotion; its approval is then refused', async () => {
    const s = await scene(app);
    const { devB, prod } = await environments(s);
    const gated = await s.expect(201, 'POST', '/environments', s.admin, { name: 'qa-b', order: 5, requiredApprovals: 1 });
    const teamB = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-b', environmentIds: [gated.id, devB.id, prod.id] });
    const b = await released(s, 'api-b', teamB.id);
    const res = await promote(s, b.release, gated);
    expect(res.status).toBe(201);
    await reaches(s, res.body.data.id, 'awaiting_approval');

    await s.expect(200, 'PUT', `/pipelines/${teamB.id}`, s.admin, { name: 'team-b', environmentIds: [devB.id, prod.id] });
    const moved = await reaches(s, res.body.data.id, 'awaiting_approval', (p) => orderGate(p.gates).passed === false);
    expect(orderGate(moved.gates)).toMatchObject({ blocking: true, message: 'qa-b is not in pipeline team-b (dev-b → prod), which api-b-1.0.0 follows' });
    const approver = await s.token('boss@example.com', { roles: ['approver'] });
    const refused = await approve(s, res.body.data.id, approver);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('PROMOTION_BLOCKED');
  });
});

describe('the default pipeline', () => {
  test('a component without a pipeline follows the tenant’s environment order, as before pipelines', async () => {
    const s = await scene(app);
    const { devA, devB, stagingA, prod } = await environments(s);
    await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-b', environmentIds: [devB.id, prod.id] });
    const plain = await released(s, 'legacy');
    expect(plain.component.pipelineId).toBeNull();

    const seen = await preview(s, plain.release, prod);
    expect(seen.pipeline).toEqual({ id: null, name: 'default', environments: [devA, devB, stagingA, prod].map((e) => ({ id: e.id, name: e.name })) });
    expect(orderGate(seen.gates)).toMatchObject({ passed: false, message: 'legacy-1.0.0 is not deployed to staging-a; promote it there first', details: { pipelineId: null, pipelineName: 'default' } });
    const first = await preview(s, plain.release, devA);
    expect(orderGate(first.gates)).toMatchObject({ passed: true, message: 'dev-a is the first environment in the pipeline' });
  });
});

describe('a release follows one pipeline', () => {
  test('a release of components in different pipelines is refused when it is made', async () => {
    const s = await scene(app);
    const { devB, prod } = await environments(s);
    const teamB = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-b', environmentIds: [devB.id, prod.id] });
    const inB = await released(s, 'api-b', teamB.id);
    const plain = await released(s, 'legacy');
    const err = await s.refuse(422, 'POST', '/releases', s.admin, {
      name: 'bundle',
      version: '1.0.0',
      components: [inB.component, plain.component].map((c) => ({ componentId: c.id, version: '1.0.0' })),
    });
    expect(err).toMatchObject({
      code: 'RELEASE_PIPELINES_DIFFER',
      message: 'The components of bundle are in different pipelines (default: legacy; team-b: api-b); a release follows one pipeline',
      details: { field: 'components', pipelines: [{ pipelineId: null, pipelineName: 'default', components: ['legacy'] }, { pipelineId: teamB.id, pipelineName: 'team-b', components: ['api-b'] }] },
    });
  });

  test('a component moved out from under a release splits it: the order gate refuses it and names the pipelines', async () => {
    const s = await scene(app);
    const { devB, prod } = await environments(s);
    const teamB = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'team-b', environmentIds: [devB.id, prod.id] });
    const one = await released(s, 'one', teamB.id);
    const two = await s.expect(201, 'POST', '/components', s.admin, { name: 'two', pipelineId: teamB.id });
    await s.expect(200, 'POST', `/components/${two.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0', digest: newDigest() }] });
    const both = await s.expect(201, 'POST', '/releases', s.admin, {
      name: 'both',
      version: '1.0.0',
      components: [one.component, two].map((c) => ({ componentId: c.id, version: '1.0.0' })),
    });
    await s.expect(200, 'PUT', `/components/${two.id}`, s.admin, { name: 'two', pipelineId: null });
    const res = await promote(s, both, devB);
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'RELEASE_PIPELINES_DIFFER', details: { pipelines: ['default', 'team-b'] } });
  });
});

describe('/pipelines', () => {
  test('validation: at least one environment, each once, each the tenant’s; a component’s unknown pipeline is named', async () => {
    const s = await scene(app);
    const { devA, prod } = await environments(s);
    const empty = await s.refuse(400, 'POST', '/pipelines', s.admin, { name: 'p', environmentIds: [] });
    expect(empty.code).toBe('VALIDATION_FAILED');
    const twice = await s.call('POST', '/pipelines', s.admin, { name: 'p', environmentIds: [devA.id, prod.id, devA.id] });
    expect(twice.status).toBe(400);
    expect(twice.body.error.validationErrors ?? twice.body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'environmentIds.2', message: `lists environment ${devA.id} again (first at position 0)` })]),
    );
    const ghost = '00000000-0000-4000-8000-000000000001';
    const unknown = await s.refuse(422, 'POST', '/pipelines', s.admin, { name: 'p', environmentIds: [devA.id, ghost] });
    expect(unknown).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND', details: { field: 'environmentIds', environmentIds: [ghost] } });

    const noPipeline = await s.refuse(422, 'POST', '/components', s.admin, { name: 'c', pipelineId: ghost });
    expect(noPipeline).toMatchObject({ code: 'PIPELINE_NOT_FOUND', details: { field: 'pipelineId', pipelineId: ghost } });
    const c = await s.expect(201, 'POST', '/components', s.admin, { name: 'c' });
    expect((await s.refuse(422, 'PUT', `/components/${c.id}`, s.admin, { name: 'c', pipelineId: ghost })).code).toBe('PIPELINE_NOT_FOUND');

    await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'p', environmentIds: [devA.id] });
    expect((await s.refuse(409, 'POST', '/pipelines', s.admin, { name: 'P', environmentIds: [prod.id] })).code).toBe('ALREADY_EXISTS');
    expect((await s.refuse(404, 'GET', `/pipelines/${ghost}`)).code).toBe('PIPELINE_NOT_FOUND');

    // The document states the list's rules as the server checks them, so a generated valid body is accepted.
    const doc = (await app.http('GET', '/api/v1/openapi.json')).body;
    expect(doc.components.schemas.PipelineInput.properties.environmentIds).toMatchObject({ type: 'array', minItems: 1, uniqueItems: true });
  });

  test('list, get, replace and delete: a pipeline a component follows stays (409), so does an environment a pipeline lists; every write is audited', async () => {
    const s = await scene(app);
    const { devA, devB, prod } = await environments(s);
    const zeta = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'zeta', environmentIds: [devB.id, prod.id] });
    const alpha = await s.expect(201, 'POST', '/pipelines', s.admin, { name: 'alpha', environmentIds: [devA.id, prod.id] });
    const list = await s.call('GET', '/pipelines', s.admin);
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: any) => p.name)).toEqual(['alpha', 'zeta']);
    const viewer = await s.token('v@example.com', { roles: ['viewer'] });
    expect((await s.expect(200, 'GET', `/pipelines/${alpha.id}`, viewer)).environments.map((e: any) => e.name)).toEqual(['dev-a', 'prod']);
    const developer = await s.token('d@example.com', { roles: ['developer'] });
    expect((await s.refuse(403, 'POST', '/pipelines', developer, { name: 'x', environmentIds: [prod.id] })).code).toBe('FORBIDDEN');

    const replaced = await s.expect(200, 'PUT', `/pipelines/${alpha.id}`, s.admin, { name: 'alpha', description: 'moved', environmentIds: [devA.id, devB.id, prod.id] });
    expect(replaced).toMatchObject({ version: 2, description: 'moved', environments: [{ name: 'dev-a' }, { name: 'dev-b' }, { name: 'prod' }] });

    const user = await s.expect(201, 'POST', '/components', s.admin, { name: 'svc', pipelineId: zeta.id });
    expect((await s.expect(200, 'GET', `/pipelines/${zeta.id}`)).components).toBe(1);
    const inUse = await s.refuse(409, 'DELETE', `/pipelines/${zeta.id}`);
    expect(inUse).toMatchObject({ code: 'IN_USE', details: { components: 1, componentNames: ['svc'] } });
    const envInUse = await s.refuse(409, 'DELETE', `/environments/${devB.id}`);
    expect(envInUse).toMatchObject({ code: 'IN_USE', details: { pipelines: 2 } });

    await s.expect(200, 'PUT', `/components/${user.id}`, s.admin, { name: 'svc', pipelineId: null });
    expect((await s.call('DELETE', `/pipelines/${zeta.id}`, s.admin)).status).toBe(204);
    expect((await s.refuse(404, 'GET', `/pipelines/${zeta.id}`)).code).toBe('PIPELINE_NOT_FOUND');

    const { rows } = await app.pool.query('SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_type = $2 ORDER BY id', [s.tenant, 'pipeline']);
    expect(rows.map((r) => r.action)).toEqual(['pipeline.create', 'pipeline.create', 'pipeline.update', 'pipeline.delete']);
  });
});

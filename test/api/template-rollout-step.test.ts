import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { scene, type Scene } from '../support/promotion-scene';
import { rolloutStages } from '../support/rollout-scene';

/**
 * The `rollout` step against the real stack: a run started through the API
 * starts a created rollout through the rollouts module's own start and waits
 * for it (the router agent a real worker over an in-memory router): completed
 * succeeds the node with its outputs; a rollback through the API fails it; an
 * environment with no router agent fails it with the module's NO_ROUTER.
 */
let app: TestApp;
let s: Scene;
const stages = rolloutStages(() => s, () => app);

beforeAll(async () => {
  app = await startTestApp();
  s = await scene(app);
}, 240_000);
afterAll(async () => {
  await stages.closeAll();
  await app?.close();
});

const newStage = stages.add;

async function startRun(nodes: unknown[]): Promise<string> {
  const template = await s.expect(201, 'POST', '/workflow-templates', s.admin, { name: `rollout ${randomUUID().slice(0, 8)}`, nodes });
  return (await s.expect(201, 'POST', '/workflow-runs', s.admin, { templateId: template.id, parameters: {} })).id;
}

const stepEnds = (runId: string, nodeId = 'canary') =>
  until(`node ${nodeId} to end`, async () => {
    const step = await s.expect(200, 'GET', `/workflow-runs/${runId}/steps/${nodeId}`);
    return ['succeeded', 'failed', 'cancelled'].includes(step.status) ? step : undefined;
  }, 90_000);

test('validation: the rollout step is available, and its inputs are judged with the node and field named', async () => {
  const types = await s.expect(200, 'GET', '/step-types');
  expect(types.find((t: any) => t.type === 'rollout')).toMatchObject({ available: true, unavailable: null, runsOn: 'child' });
  const res = await s.call('POST', '/workflow-templates', s.admin, { name: 'bad rollout', nodes: [{ id: 'canary', type: 'rollout', inputs: { rolloutId: 'not-a-uuid', weight: 5 } }] });
  expect([res.status, res.body.error.code]).toEqual([422, 'TEMPLATE_INVALID']);
  expect(res.body.error.details.problems).toEqual(
    expect.arrayContaining([expect.objectContaining({ nodeId: 'canary', field: 'nodes.0.inputs.rolloutId' }), expect.objectContaining({ nodeId: 'canary', field: 'nodes.0.inputs.weight' })]),
  );
});

test('a created rollout is started by the step and walked to completed; the node succeeds with its outputs', async () => {
  const st = await newStage();
  const rollout = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 20 }, { setWeight: 100 }] }));
  const runId = await startRun([{ id: 'canary', type: 'rollout', inputs: { rolloutId: rollout.id, reason: 'release train' } }]);
  const step = await stepEnds(runId);
  expect(step).toMatchObject({ status: 'succeeded', outputs: { rolloutId: rollout.id, state: 'completed', canaryWeight: 100 } });
  const after = await s.expect(200, 'GET', `/ab-releases/${rollout.id}`);
  expect(after.state).toBe('completed');
  expect(st.router.routeOf(st.env.id).sets.map((x) => x.canaryWeight)).toEqual(expect.arrayContaining([20, 100]));
});

test('a rollout rolled back while the step waits fails the node (ROLLOUT_ABORTED) and the run', async () => {
  const st = await newStage();
  const rollout = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 10 }, { pause: { duration: '1h' } }, { setWeight: 100 }] }));
  const runId = await startRun([{ id: 'canary', type: 'rollout', inputs: { rolloutId: rollout.id } }]);
  await until('the rollout to hold 10 %', async () => (await s.expect(200, 'GET', `/ab-releases/${rollout.id}`)).canaryWeight === 10, 60_000);
  expect((await s.expect(200, 'GET', `/workflow-runs/${runId}/steps/canary`)).status).toBe('running');
  await s.expect(200, 'POST', `/ab-releases/${rollout.id}/rollback`, s.admin, { reason: 'error budget' });
  const step = await stepEnds(runId);
  expect(step).toMatchObject({ status: 'failed', error: { code: 'ROLLOUT_ABORTED', message: expect.stringContaining('error budget') } });
  await until('the run to fail', async () => (await s.expect(200, 'GET', `/workflow-runs/${runId}`)).status === 'failed', 60_000);
});

test('an environment with no router agent fails the node with the rollouts module’s NO_ROUTER; the rollout stays created', async () => {
  const st = await newStage({ routerless: true });
  const rollout = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body());
  const runId = await startRun([{ id: 'canary', type: 'rollout', inputs: { rolloutId: rollout.id } }]);
  const step = await stepEnds(runId);
  expect(step).toMatchObject({ status: 'failed', error: { code: 'NO_ROUTER', message: expect.stringContaining('npm run agent -- --router haproxy') } });
  expect((await s.expect(200, 'GET', `/ab-releases/${rollout.id}`)).state).toBe('created');
});

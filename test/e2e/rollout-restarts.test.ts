import { CANARY_VERSION, readBack, rolloutScene, stateOf, type RolloutScene } from '../support/rollout-e2e-scene';
import { assertSplit } from '../support/traffic-load';

/**
 * The rollout's step, weights and pause live in its workflow, and the router
 * outlives the agent that drives it: the orchestrator worker or the agent
 * SIGKILLed mid-pause, a new one started, and an advance takes the rollout on
 * from exactly where it was.
 */
let scene: RolloutScene;

beforeAll(async () => {
  scene = await rolloutScene({ stableTargets: 1 });
}, 240_000);
afterAll(async () => {
  await scene?.close();
});

test('a worker killed mid-pause resumes: the router keeps the weight, and an advance after a new worker starts completes the canary', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 canary across a worker crash',
    strategy: 'canary',
    steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 100 }],
  });
  await scene.servesSplit(rollout.id, 25);
  await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);

  const pid = await scene.stage.killWorker();
  expect(scene.stage.worker.proc.child.signalCode).toBe('SIGKILL');
  // With no worker the router still serves what it was told: the agent drives it, not the workflow.
  assertSplit(await scene.load({ requests: 1000 }), CANARY_VERSION, 25);

  await scene.stage.startWorker();
  expect(scene.stage.worker.pid).not.toBe(pid);
  // Where it was: paused at step 2, 25 % read back from the router through the new worker.
  expect(await scene.get(rollout.id)).toMatchObject({ state: 'paused', stepIndex: 1, canaryWeight: 25 });
  expect(readBack(await scene.traffic(rollout.id))).toMatchObject({ live: true, canaryWeight: 25 });
  const advanced = await scene.act(rollout.id, 'advance', { reason: 'after the crash' });
  expect(advanced.status).toBe(200);
  await scene.servesSplit(rollout.id, 100);
  const done = await scene.until(rollout.id, 'to complete', (r) => stateOf(r) === 'completed', 60_000);
  expect(stateOf(done)).toBe('completed');
  const after = await scene.load({ requests: 200 });
  expect(after.byVersion).toEqual({ [CANARY_VERSION]: 200 });
}, 300_000);

test('an agent killed mid-pause leaves the router serving; a new agent adopts it and the rollout goes on', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 canary across an agent crash',
    strategy: 'canary',
    steps: [{ setWeight: 35 }, { pause: {} }, { setWeight: 100 }],
  });
  await scene.servesSplit(rollout.id, 35);
  await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);

  await scene.stage.killAgent();
  // The router is not the agent: clients still get 35 %, and GET /traffic says its reading is not live.
  assertSplit(await scene.load({ requests: 1000 }), CANARY_VERSION, 35);
  const away = readBack(await scene.traffic(rollout.id));
  expect(away).toMatchObject({ live: false, canaryWeight: 35 });

  await scene.stage.startAgent();
  expect(readBack(await scene.traffic(rollout.id))).toMatchObject({ live: true, canaryWeight: 35 });
  expect((await scene.act(rollout.id, 'advance', { reason: 'after the agent came back' })).status).toBe(200);
  await scene.servesSplit(rollout.id, 100);
  const done = await scene.until(rollout.id, 'to complete', (r) => stateOf(r) === 'completed', 60_000);
  expect(done.canaryWeight).toBe(100);
}, 300_000);

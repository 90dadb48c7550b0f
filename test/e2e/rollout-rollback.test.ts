import { CANARY_VERSION, rolloutScene, readBack, STABLE_VERSION, stateOf, type RolloutScene } from '../support/rollout-e2e-scene';
import { eventually } from '../support/eventually';
import { versionOn } from '../support/rollout-stage';

/**
 * Traffic always goes back to stable: by itself when the canary fails its
 * analysis (the canary demo service answers 500s), and at once when someone
 * aborts during a pause. Measured through the router, and read back from it;
 * then the canary targets are scaled down: the stable release deployed back
 * to them by the rollout's own deployment job.
 */
let scene: RolloutScene;

beforeAll(async () => {
  scene = await rolloutScene();
}, 240_000);
afterAll(async () => {
  await scene?.close();
});

afterEach(async () => {
  await scene?.stage.recoverCanary();
});

const ENDED = ['aborted', 'failed'];

test('a canary that answers 500s is rolled back by itself, and the traffic the router serves goes back to stable', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 failing canary',
    strategy: 'canary',
    steps: [{ setWeight: 50 }, { pause: {} }, { analysis: { metric: 'error-rate', max: 0.05, window: '20s', interval: '1s' } }, { setWeight: 100 }],
  });
  await scene.servesSplit(rollout.id, 50);
  await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused');
  // The canary breaks while it takes half the traffic; the analysis after the pause judges what the router counts.
  await scene.stage.failCanary();
  const load = scene.steadyLoad();
  let done: any;
  try {
    expect((await scene.act(rollout.id, 'advance', { reason: 'judge it' })).status).toBe(200);
    done = await scene.until(rollout.id, 'to roll back by itself', (r) => ENDED.includes(stateOf(r)), 60_000);
  } finally {
    const during = await load.stop();
    // The router did serve the failing canary's 500s while it was judged.
    expect(during.some((r) => (r.byVersion[CANARY_VERSION] ?? 0) > 0 && (r.byStatus[500] ?? 0) > 0)).toBe(true);
  }
  expect(stateOf(done)).toBe('aborted');

  await eventually(async () => expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(0), { timeoutMs: 10_000 });
  const after = await scene.load({ requests: 500 });
  expect(after.byVersion).toEqual({ [STABLE_VERSION]: 500 });
  expect(after.byStatus).toEqual({ 200: 500 });

  // The verdict that did it is on record.
  const health = await scene.health(rollout.id);
  expect(health.state).toBe('aborted');
  expect(health.lastVerdict).toMatchObject({ verdict: 'fail', metric: 'error-rate', thresholds: { max: 0.05 } });
  expect(health.lastVerdict.value).toBeGreaterThan(0.05);
  expect(health.measurements[0]).toMatchObject({ stepIndex: 2, judgement: { verdict: 'fail' } });
  expect(done.abortReason).toMatch(/analysis/);
  await scaledDown(rollout.id);
}, 240_000);

/** The canary targets run the stable version again, deployed by the rollout's scale-down job, on record. */
async function scaledDown(id: string) {
  const r = await scene.until(id, 'to scale the canary targets down', (x) => ['deployed', 'failed'].includes(x.scaleDown?.status), 90_000);
  expect(r.scaleDown).toMatchObject({ status: 'deployed', releaseId: scene.stage.stableRelease.id });
  expect(r.history.map((h: any) => h.action)).toEqual(expect.arrayContaining(['rollout.scale_down', 'rollout.scaled_down']));
  const job = await scene.stage.api('GET', `/deployment-jobs/${r.scaleDown.jobId}`);
  expect(job).toMatchObject({ kind: 'rollout', status: 'deployed', releaseId: scene.stage.stableRelease.id });
  for (const t of scene.stage.targets.filter((x) => x.track === 'canary')) expect(await versionOn(t.port)).toBe(STABLE_VERSION);
  expect(readBack(await scene.traffic(id)).canaryWeight).toBe(0);
}

test('an abort during a pause leaves no canary traffic', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 aborted',
    strategy: 'canary',
    steps: [{ setWeight: 40 }, { pause: {} }, { setWeight: 100 }],
  });
  await scene.servesSplit(rollout.id, 40);
  await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);

  const abort = await scene.act(rollout.id, 'rollback', { reason: 'abort during the pause' });
  expect(abort.status).toBe(200);
  await scene.until(rollout.id, 'to be rolled back', (r) => ENDED.includes(stateOf(r)), 30_000);
  await eventually(async () => {
    expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(0);
  }, { timeoutMs: 10_000 });
  const after = await scene.load({ requests: 500 });
  expect(after.byVersion).toEqual({ [STABLE_VERSION]: 500 });

  // Nothing more happens to it: an advance now is refused, and the router stays on stable.
  const late = await scene.act(rollout.id, 'advance');
  expect(late.status).toBe(409);
  expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(0);
  await scaledDown(rollout.id);
}, 240_000);

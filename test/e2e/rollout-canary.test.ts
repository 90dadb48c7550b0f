import { CANARY_VERSION, rolloutScene, readBack, STABLE_VERSION, stateOf, type RolloutScene } from '../support/rollout-e2e-scene';
import { eventually } from '../support/eventually';

/**
 * A canary through a real router (the agent's haproxy) in front of real demo
 * services: what a client of the router gets is measured at every weight, and
 * GET /traffic is what the router itself reads back.
 */
let scene: RolloutScene;

beforeAll(async () => {
  scene = await rolloutScene();
}, 240_000);
afterAll(async () => {
  await scene?.close();
});

const FINISHED = ['completed', 'aborted', 'failed'];

test('a canary 10 → 50 → 100 % completes, and the router serves each weight within tolerance while paused there', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 canary',
    strategy: 'canary',
    steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 100 }],
  });
  expect(stateOf(rollout)).toBe('running');

  const at10 = await scene.servesSplit(rollout.id, 10);
  expect(at10.ok).toBe(true);
  // Paused indefinitely: it stays at 10 % until someone advances.
  const held = await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused');
  expect(held.stepIndex).toBe(1);
  expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(10);

  expect((await scene.act(rollout.id, 'advance')).status).toBe(200);
  expect((await scene.servesSplit(rollout.id, 50)).ok).toBe(true);

  // An advance goes past the current step: it must reach the pause, not the weight step already applied.
  await scene.until(rollout.id, 'to hold at the second pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 3);
  expect((await scene.act(rollout.id, 'advance')).status).toBe(200);
  expect((await scene.servesSplit(rollout.id, 100)).ok).toBe(true);

  const done = await scene.until(rollout.id, 'to finish', (r) => FINISHED.includes(stateOf(r)));
  expect(stateOf(done)).toBe('completed');
  // Finished at 100 %: every request of a fresh load is the canary's.
  const after = await scene.load({ requests: 300 });
  expect(after.byVersion).toEqual({ [CANARY_VERSION]: 300 });
}, 240_000);

test('A/B by header: only requests carrying the header reach B, whatever the weight', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 A/B',
    strategy: 'abTest',
    match: { header: { name: 'x-tollgate-variant', value: 'b' } },
    steps: [{ setWeight: 0 }, { pause: {} }, { setWeight: 30 }, { pause: {} }, { setWeight: 100 }],
  });
  await eventually(async () => {
    const read = readBack(await scene.traffic(rollout.id));
    expect(read.live).toBe(true);
    expect(read.match).toEqual({ header: { name: 'x-tollgate-variant', value: 'b' } });
    expect(read.canaryWeight).toBe(0);
  }, { timeoutMs: 30_000 });

  await eventually(async () => {
    const matching = await scene.load({ requests: 300, headers: { 'x-tollgate-variant': 'b' } });
    expect(matching.byVersion).toEqual({ [CANARY_VERSION]: 300 });
  }, { timeoutMs: 30_000 });
  const others = await scene.load({ requests: 300 });
  expect(others.byVersion).toEqual({ [STABLE_VERSION]: 300 });
  const otherValue = await scene.load({ requests: 300, headers: { 'x-tollgate-variant': 'a' } });
  expect(otherValue.byVersion).toEqual({ [STABLE_VERSION]: 300 });

  // At 30 %, unmatched requests split 70/30 and matching ones still all go to B.
  await scene.until(rollout.id, 'to hold at the first pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);
  expect((await scene.act(rollout.id, 'advance')).status).toBe(200);
  await scene.servesSplit(rollout.id, 30);
  const matchingAt30 = await scene.load({ requests: 300, headers: { 'x-tollgate-variant': 'b' } });
  expect(matchingAt30.byVersion).toEqual({ [CANARY_VERSION]: 300 });

  expect((await scene.act(rollout.id, 'rollback', { reason: 'A/B over' })).status).toBe(200);
  await scene.until(rollout.id, 'to be rolled back', (r) => stateOf(r) === 'aborted');
  await eventually(async () => {
    expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(0);
    const matching = await scene.load({ requests: 200, headers: { 'x-tollgate-variant': 'b' } });
    expect(matching.byVersion).toEqual({ [STABLE_VERSION]: 200 });
  }, { timeoutMs: 30_000 });
  // Then its canary target is scaled down to stable; the environment is free once that is done.
  const scaled = await scene.until(rollout.id, 'to scale its canary target down', (r) => ['deployed', 'failed'].includes(r.scaleDown?.status), 90_000);
  expect(scaled.scaleDown.status).toBe('deployed');
}, 240_000);

test('GET /health shows the analysis measurements, their thresholds and the verdicts', async () => {
  const rollout = await scene.createAndStart({
    name: 'demo 2.0 analysed',
    strategy: 'canary',
    steps: [{ setWeight: 30 }, { pause: {} }, { analysis: { metric: 'error-rate', max: 0.05, window: '3s', interval: '1s' } }, { pause: {} }, { setWeight: 100 }],
  });
  await scene.servesSplit(rollout.id, 30);
  await scene.until(rollout.id, 'to hold at the first pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);
  // Steady traffic for the router to count while the analysis measures.
  const load = scene.steadyLoad();
  let health: any;
  try {
    expect((await scene.act(rollout.id, 'advance', { reason: 'analyse' })).status).toBe(200);
    await scene.until(rollout.id, 'to pass its analysis and hold at the second pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 3, 60_000);
    health = await scene.health(rollout.id);
  } finally {
    await load.stop();
  }
  // Every measurement kept, with the numbers, the thresholds it was judged by and its verdict.
  expect(health.state).toBe('paused');
  expect(health.measurements.length).toBeGreaterThan(0);
  for (const m of health.measurements) {
    expect(m).toMatchObject({ stepIndex: 2, metric: 'error-rate', provider: 'router', thresholds: { metric: 'error-rate', max: 0.05 } });
    expect(['pass', 'inconclusive']).toContain(m.judgement.verdict);
  }
  expect(health.measurements.some((m: any) => m.judgement.verdict === 'pass' && m.judgement.value === 0)).toBe(true);
  expect(health.lastVerdict).toMatchObject({ verdict: 'pass', metric: 'error-rate', thresholds: { max: 0.05 } });
  // The analysis is over: no current one, only what it measured.
  expect(health.currentAnalysis).toBeNull();
  // A passing analysis moves on to the pause: still 30 %.
  expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(30);
  expect((await scene.act(rollout.id, 'promote', { full: true, reason: 'looks good' })).status).toBe(200);
  await scene.servesSplit(rollout.id, 100);
  await scene.until(rollout.id, 'to complete', (r) => FINISHED.includes(stateOf(r)));
}, 240_000);

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CANARY_VERSION, rolloutScene, readBack, STABLE_VERSION, stateOf, type RolloutScene } from '../support/rollout-e2e-scene';
import { queryPrometheus } from '../../activities/rollouts/prometheus';
import { eventually, until } from '../support/eventually';
import { startPrometheus, type PrometheusProcess } from '../support/prometheus-process';

/**
 * The prometheus analysis against a real Prometheus (Debian's) scraping the
 * stable and canary demo services every second, with the module's default
 * PromQL over the demo's own metrics: a healthy canary passes and completes,
 * a canary answering 500s is rolled back by itself, and a canary without
 * traffic is inconclusive (a pause for a person), never a pass.
 */
let scene: RolloutScene;
let prometheus: PrometheusProcess;

beforeAll(async () => {
  scene = await rolloutScene();
  // The canary targets serve only once a rollout has deployed the canary: Prometheus starts with the stable ones up.
  prometheus = await startPrometheus(
    scene.stage.targets.map((t) => ({ port: t.port })),
    { up: scene.stage.targets.filter((t) => t.track === 'stable').map((t) => t.port) },
  );
}, 240_000);
afterAll(async () => {
  await prometheus?.stop();
  await scene?.close();
});

const started: string[] = [];
// One rollout per environment at a time: a test that failed half-way must not leave the next one refused.
afterEach(async () => {
  await scene?.stage.recoverCanary();
  for (const id of started.splice(0)) {
    if (['created', 'running', 'paused'].includes(stateOf(await scene.get(id)))) {
      await scene.act(id, 'rollback', { reason: 'test over' });
      await scene.until(id, 'to be rolled back', (r) => stateOf(r) === 'aborted');
    }
    // A rolled-back rollout holds the environment until its canary targets are scaled down.
    await scene.until(id, 'to scale its canary targets down', (r) => !r.scaleDown || ['deployed', 'failed'].includes(r.scaleDown.status), 90_000);
  }
});

async function createAndStart(body: Record<string, unknown>): Promise<any> {
  const rollout = await scene.createAndStart(body);
  started.push(rollout.id);
  return rollout;
}

const analysis = (extra: Record<string, unknown>) => ({ analysis: { provider: 'prometheus', address: prometheus.url, ...extra } });

test('a healthy canary passes its error-rate and latency-p99 analyses on Prometheus and completes; /health shows what Prometheus answered', async () => {
  const load = scene.steadyLoad();
  let done: any;
  let health: any;
  try {
    const rollout = await createAndStart({
      name: 'demo 2.0 judged by prometheus',
      strategy: 'canary',
      steps: [
        { setWeight: 50 },
        analysis({ metric: 'error-rate', max: 0.05, window: '6s', interval: '2s' }),
        analysis({ metric: 'latency-p99', max: 1000, window: '6s', interval: '2s' }),
        { setWeight: 100 },
      ],
    });
    done = await scene.until(rollout.id, 'to complete', (r) => ['completed', 'aborted', 'failed', 'paused'].includes(stateOf(r)), 90_000);
    health = await scene.health(rollout.id);
  } finally {
    await load.stop();
  }
  expect({ state: stateOf(done), reason: done.pausedReason ?? done.abortReason ?? null }).toEqual({ state: 'completed', reason: null });

  const errorRates = health.measurements.filter((m: any) => m.stepIndex === 1);
  const latencies = health.measurements.filter((m: any) => m.stepIndex === 2);
  for (const m of [...errorRates, ...latencies]) expect(m.provider).toBe('prometheus');
  // No canary request failed: Prometheus's rate of 5xx is 0 for both variants, not "no data".
  const passedRate = errorRates.find((m: any) => m.judgement.verdict === 'pass');
  expect(passedRate).toMatchObject({ metric: 'error-rate', thresholds: { max: 0.05 }, judgement: { value: 0, baseline: 0, score: 100 } });
  expect(passedRate.sample).toMatchObject({ canary: { value: 0 }, stable: { value: 0 } });
  expect(passedRate.sample.canary.requests).toBeGreaterThanOrEqual(10);
  // The p99 from the demo's histogram: a real number of milliseconds, for both variants.
  const passedLatency = latencies.find((m: any) => m.judgement.verdict === 'pass');
  expect(passedLatency).toMatchObject({ metric: 'latency-p99', thresholds: { max: 1000 } });
  expect(passedLatency.judgement.value).toBeGreaterThan(0);
  expect(passedLatency.judgement.value).toBeLessThan(1000);
  expect(passedLatency.judgement.baseline).toBeGreaterThan(0);

  const after = await scene.load({ requests: 200 });
  expect(after.byVersion).toEqual({ [CANARY_VERSION]: 200 });
}, 240_000);

test('a canary answering 500s is rolled back by its Prometheus analysis, and the router serves stable again', async () => {
  const rollout = await createAndStart({
    name: 'demo 2.0 failing, judged by prometheus',
    strategy: 'canary',
    steps: [{ setWeight: 50 }, { pause: {} }, analysis({ metric: 'error-rate', max: 0.05, window: '15s', interval: '1s' }), { setWeight: 100 }],
  });
  await scene.servesSplit(rollout.id, 50);
  await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);
  await scene.stage.failCanary();
  const load = scene.steadyLoad();
  let done: any;
  try {
    expect((await scene.act(rollout.id, 'advance', { reason: 'judge it on prometheus' })).status).toBe(200);
    done = await scene.until(rollout.id, 'to roll back by itself', (r) => ['aborted', 'failed', 'paused', 'completed'].includes(stateOf(r)) && r.stepIndex >= 2, 60_000);
  } finally {
    await load.stop();
  }
  expect({ state: stateOf(done), reason: done.pausedReason ?? null }).toEqual({ state: 'aborted', reason: null });
  expect(done.abortReason).toMatch(/analysis/);

  await eventually(async () => expect(readBack(await scene.traffic(rollout.id)).canaryWeight).toBe(0), { timeoutMs: 10_000 });
  const after = await scene.load({ requests: 300 });
  expect(after.byVersion).toEqual({ [STABLE_VERSION]: 300 });
  expect(after.byStatus).toEqual({ 200: 300 });

  const health = await scene.health(rollout.id);
  expect(health.lastVerdict).toMatchObject({ verdict: 'fail', metric: 'error-rate', provider: 'prometheus', thresholds: { max: 0.05 } });
  expect(health.lastVerdict.value).toBeGreaterThan(0.05);
  // Stable kept answering 200s over the same window.
  expect(health.lastVerdict.baseline).toBe(0);
}, 240_000);

test('a canary Prometheus saw no requests of is inconclusive and pauses for a person, never a pass', async () => {
  const rollout = await createAndStart({
    name: 'demo 2.0 without traffic',
    strategy: 'canary',
    steps: [{ setWeight: 0 }, { pause: {} }, analysis({ metric: 'error-rate', max: 0.05, window: '4s', interval: '1s' }), { setWeight: 100 }],
  });
  await scene.until(rollout.id, 'to hold at the pause', (r) => stateOf(r) === 'paused' && r.stepIndex === 1);
  const load = scene.steadyLoad();
  let held: any;
  let health: any;
  try {
    // The window looks back from each measurement: what an earlier test sent the canary must have left it first.
    await until('Prometheus to have seen no canary request for a window', async () => {
      const seen = await queryPrometheus(prometheus.url, `sum(increase(http_requests_total{version="${CANARY_VERSION}"}[4s]))`);
      // No series at all (a canary not yet scraped) is no request too.
      return seen === 0 || seen === null;
    }, 30_000, 200);
    expect((await scene.act(rollout.id, 'advance', { reason: 'judge it on prometheus' })).status).toBe(200);
    held = await scene.until(rollout.id, 'to stop after its analysis', (r) => r.stepIndex >= 2 && ['paused', 'completed', 'aborted', 'failed'].includes(stateOf(r)), 60_000);
    health = await scene.health(rollout.id);
  } finally {
    await load.stop();
  }
  expect({ state: stateOf(held), stepIndex: held.stepIndex }).toEqual({ state: 'paused', stepIndex: 2 });
  expect(held.pausedReason).toMatch(/inconclusive/);
  const measured = health.measurements.filter((m: any) => m.stepIndex === 2);
  expect(measured.length).toBeGreaterThan(0);
  for (const m of measured) {
    expect(m).toMatchObject({ provider: 'prometheus', judgement: { verdict: 'inconclusive', value: null } });
    // Stable did serve the load meanwhile, and Prometheus says so.
    expect(m.sample.stable.requests).toBeGreaterThan(0);
  }
}, 240_000);

test('an analysis through a prometheus integration: its bearer token reaches Prometheus (behind a proxy that refuses any other), health names the integration, no answer holds the token', async () => {
  const token = `prom-${randomUUID()}`;
  const seen: boolean[] = [];
  const proxy = createServer(async (req, res) => {
    const authorized = req.headers.authorization === `Bearer ${token}`;
    seen.push(authorized);
    if (!authorized) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"status":"error","error":"unauthorized"}');
    const upstream = await fetch(`${prometheus.url}${req.url}`);
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const load = scene.steadyLoad();
  let done: any;
  let health: any;
  let integration: any;
  try {
    integration = await scene.s.expect(201, 'POST', '/integrations', scene.s.admin, { typeId: 'prometheus', name: `guarded-prometheus-${token.slice(-6)}`, config: { url: proxyUrl, bearerToken: token } });
    const rollout = await createAndStart({
      name: 'demo 2.0 judged through a prometheus integration',
      strategy: 'canary',
      steps: [{ setWeight: 50 }, { analysis: { provider: 'prometheus', integrationId: integration.id, metric: 'error-rate', max: 0.05, window: '6s', interval: '2s' } }, { setWeight: 100 }],
    });
    done = await scene.until(rollout.id, 'to complete', (r) => ['completed', 'aborted', 'failed', 'paused'].includes(stateOf(r)), 90_000);
    health = await scene.health(rollout.id);
  } finally {
    await load.stop();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
  expect({ state: stateOf(done), reason: done.pausedReason ?? done.abortReason ?? null }).toEqual({ state: 'completed', reason: null });
  const measured = health.measurements.filter((m: any) => m.stepIndex === 1);
  expect(measured.length).toBeGreaterThan(0);
  for (const m of measured) expect(m).toMatchObject({ provider: 'prometheus', integration: { id: integration.id, name: integration.name } });
  expect(measured.find((m: any) => m.judgement.verdict === 'pass')).toMatchObject({ judgement: { value: 0, baseline: 0 } });
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.every(Boolean)).toBe(true);
  expect(JSON.stringify([done, health])).not.toContain(token);
}, 240_000);

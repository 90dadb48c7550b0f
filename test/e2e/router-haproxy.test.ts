import { HaproxyProvider } from '../../agent/traffic/haproxy';
import type { DemoService } from '../../demo/service';
import type { TrafficSpec } from '../../domain/traffic';
import { createLogger } from '../../platform/logger';
import { ensureHaproxy } from '../../scripts/stack/haproxy';
import { eventually } from '../support/eventually';
import { loadThrough, routeSpec, startRouteBackends, type RouteBackends } from '../support/router-scene';

/**
 * The agent's HAProxy in front of two real demo services (stable 1.0.0, canary 2.0.0): the split a bounded load
 * loop measures follows the weights, weights are read back from HAProxy itself, a header match sends only matching
 * requests to the canary, the counters see a failing canary's 500s, and a weight change is no reload.
 */
const LOAD = 400;
const TOLERANCE = 0.03;

let bin: string;
let scene: RouteBackends;
let stable: DemoService;
let canary: DemoService;
let dir: string;
let listen: string;
let router: HaproxyProvider;
const log = createLogger('router-test', process.env.TEST_AGENT_LOG_LEVEL ?? 'warn');

beforeAll(async () => {
  bin = ensureHaproxy(() => undefined);
  scene = await startRouteBackends('router-haproxy');
  ({ stable, canary, dir, listen } = scene);
  router = new HaproxyProvider({ bin, listen, dir, log });
  await router.open();
});
afterAll(async () => {
  await router?.close();
  await scene?.close();
});

const spec = (canaryWeight: number, extra: Partial<TrafficSpec> = {}) => routeSpec(stable, canary, canaryWeight, extra);
const load = (n: number, headers: Record<string, string> = {}) => loadThrough(listen, n, headers);

test('a canary at 10, 50 and 100 percent gets that share of a bounded load, and the weights read back from HAProxy are the ones asked', async () => {
  for (const weight of [10, 50, 100]) {
    const state = await router.apply(spec(weight));
    expect(state).toMatchObject({ provider: 'haproxy', routeId: 'env-1', canaryWeight: weight, stableWeight: 100 - weight, match: null });
    expect(state.servers).toEqual([
      { name: 'web-stable', variant: 'stable', weight: 100 - weight, state: expect.any(String) },
      { name: 'web-canary', variant: 'canary', weight, state: expect.any(String) },
    ]);
    const { canaryShare } = await load(LOAD);
    expect(Math.abs(canaryShare - weight / 100)).toBeLessThanOrEqual(TOLERANCE);
    expect((await router.read('env-1')).canaryWeight).toBe(weight);
  }
  // Back to stable: no canary request at all.
  await router.apply(spec(0));
  expect((await load(100)).versions).toEqual({ '1.0.0': 100 });
});

test('a weight change goes through the runtime API: the same HAProxy worker serves it, no reload; a new server set reloads', async () => {
  await router.apply(spec(10));
  const master = router.masterPid();
  const worker = await router.workerPid();
  const started = Date.now();
  await router.apply(spec(60));
  const elapsed = Date.now() - started;
  expect(await router.workerPid()).toBe(worker);
  expect(router.masterPid()).toBe(master);
  expect(elapsed).toBeLessThan(1_000);
  expect(Math.abs((await load(200)).canaryShare - 0.6)).toBeLessThanOrEqual(TOLERANCE);

  // Two canary servers (the same service twice): the shape changed, so the config is checked and reloaded.
  const twice = spec(60, { canary: [spec(0).canary[0], { ...spec(0).canary[0], name: 'web-canary-2', targetId: 't-canary-2' }] });
  const state = await router.apply(twice);
  expect(await router.workerPid()).not.toBe(worker);
  expect(router.masterPid()).toBe(master);
  expect(state.canaryWeight).toBe(60);
  expect(state.servers.filter((s) => s.variant === 'canary').map((s) => s.weight)).toEqual([30, 30]);
  expect(Math.abs((await load(200)).canaryShare - 0.6)).toBeLessThanOrEqual(TOLERANCE);
});

test('a header match sends exactly the matching requests to the canary, whatever its weight', async () => {
  const state = await router.apply(spec(0, { match: { header: { name: 'X-Canary', value: 'yes' } } }));
  expect(state.match).toEqual({ header: { name: 'X-Canary', value: 'yes' } });
  expect((await load(50, { 'X-Canary': 'yes' })).versions).toEqual({ '2.0.0': 50 });
  expect((await load(50, { 'X-Canary': 'no' })).versions).toEqual({ '1.0.0': 50 });
  expect((await load(50)).versions).toEqual({ '1.0.0': 50 });

  const cookie = await router.apply(spec(0, { match: { cookie: { name: 'variant', value: 'b' } } }));
  expect(cookie.match).toEqual({ cookie: { name: 'variant', value: 'b' } });
  expect((await load(20, { Cookie: 'session=1; variant=b' })).versions).toEqual({ '2.0.0': 20 });
  expect((await load(20, { Cookie: 'variant=a' })).versions).toEqual({ '1.0.0': 20 });

  // Without the match, the canary-only backend is gone and read-back says so.
  expect((await router.apply(spec(0))).match).toBeNull();
});

test('the counters move per variant, and a failing canary’s 500s show up as canary errors', async () => {
  await router.apply(spec(50));
  const before = await router.stats('env-1');
  await fetch(`http://127.0.0.1:${canary.port}/fail-requests`, { method: 'POST' });
  try {
    const { statuses, versions } = await load(100);
    const toCanary = versions['2.0.0'] ?? 0;
    expect(Math.abs(toCanary - 50)).toBeLessThanOrEqual(3);
    expect(statuses[500]).toBe(toCanary);
    const after = await eventually(async () => {
      const now = await router.stats('env-1');
      expect(now.stable.requests - before.stable.requests).toBe(100 - toCanary);
      expect(now.canary.requests - before.canary.requests).toBe(toCanary);
      return now;
    }, { timeoutMs: 5_000 });
    expect(after.canary.errors5xx - before.canary.errors5xx).toBe(toCanary);
    expect(after.stable.errors5xx - before.stable.errors5xx).toBe(0);
    expect(after.canary.meanResponseMs).not.toBeNull();
  } finally {
    await fetch(`http://127.0.0.1:${canary.port}/recover`, { method: 'POST' });
  }
});

test('a spec HAProxy cannot take is refused as BAD_TRAFFIC_SPEC and the running traffic is kept', async () => {
  await router.apply(spec(20));
  await expect(router.apply(spec(20, { match: { header: { name: 'X Bad', value: 'v' } } }))).rejects.toMatchObject({ type: 'BAD_TRAFFIC_SPEC', nonRetryable: true });
  await expect(router.apply(spec(120))).rejects.toMatchObject({ type: 'BAD_TRAFFIC_SPEC' });
  expect((await router.read('env-1')).canaryWeight).toBe(20);
});

test('a new provider on the same directory adopts the running HAProxy; after it stops, the next one starts it with the last applied spec', async () => {
  await router.apply(spec(30));
  const master = router.masterPid();
  const adopter = new HaproxyProvider({ bin, listen, dir, log });
  await adopter.open();
  expect(adopter.masterPid()).toBe(master);
  expect((await adopter.read('env-1')).canaryWeight).toBe(30);

  await adopter.close();
  await expect(fetch(`http://${listen}/`)).rejects.toThrow();
  const restarted = new HaproxyProvider({ bin, listen, dir, log });
  await restarted.open();
  expect(restarted.masterPid()).not.toBe(master);
  expect((await restarted.read('env-1')).canaryWeight).toBe(30);
  expect(Math.abs((await load(200)).canaryShare - 0.3)).toBeLessThanOrEqual(TOLERANCE);
  router = restarted;
});

import { NginxProvider } from '../../agent/traffic/nginx';
import type { DemoService } from '../../demo/service';
import type { TrafficSpec } from '../../domain/traffic';
import { createLogger } from '../../platform/logger';
import { ensureNginx } from '../../scripts/stack/nginx';
import { loadThrough, routeSpec, startRouteBackends, type RouteBackends } from '../support/router-scene';

/**
 * The agent's nginx, the router the interface admits beside HAProxy: every change is a checked config and a
 * reload; the split, the header match, read-back from the loaded config and the access-log counters.
 */
let scene: RouteBackends;
let stable: DemoService;
let canary: DemoService;
let listen: string;
let router: NginxProvider;

beforeAll(async () => {
  scene = await startRouteBackends('router-nginx');
  ({ stable, canary, listen } = scene);
  router = new NginxProvider({ bin: ensureNginx(() => undefined), listen, dir: scene.dir, log: createLogger('router-test', 'warn') });
  await router.open();
});
afterAll(async () => {
  await router?.close();
  await scene?.close();
});

const spec = (canaryWeight: number, extra: Partial<TrafficSpec> = {}) => routeSpec(stable, canary, canaryWeight, extra);
// A fresh connection per request: a reload ends the old workers' kept-alive connections.
const load = (n: number, headers: Record<string, string> = {}) => loadThrough(listen, n, { Connection: 'close', ...headers });

test('the split follows 10, 50 and 100 percent, read back from the config nginx loaded; a header match sends only matching requests to the canary; the access log counts 5xx per variant', async () => {
  for (const weight of [10, 50, 100]) {
    const state = await router.apply(spec(weight));
    expect(state).toMatchObject({ provider: 'nginx', canaryWeight: weight, stableWeight: 100 - weight, match: null });
    expect(Math.abs((await load(200)).canaryShare - weight / 100)).toBeLessThanOrEqual(0.03);
  }
  const matched = await router.apply(spec(0, { match: { header: { name: 'X-Canary', value: 'yes' } } }));
  expect(matched.match).toEqual({ header: { name: 'X-Canary', value: 'yes' } });
  expect((await load(30, { 'X-Canary': 'yes' })).versions).toEqual({ '2.0.0': 30 });
  expect((await load(30)).versions).toEqual({ '1.0.0': 30 });

  await router.apply(spec(50));
  const before = await router.stats('env-1');
  await fetch(`http://127.0.0.1:${canary.port}/fail-requests`, { method: 'POST' });
  try {
    const { versions } = await load(100);
    const after = await router.stats('env-1');
    expect(after.canary.requests - before.canary.requests).toBe(versions['2.0.0']);
    expect(after.canary.errors5xx - before.canary.errors5xx).toBe(versions['2.0.0']);
    expect(after.stable.errors5xx - before.stable.errors5xx).toBe(0);
  } finally {
    await fetch(`http://127.0.0.1:${canary.port}/recover`, { method: 'POST' });
  }
  await expect(router.apply(spec(10, { match: { header: { name: 'X', value: 'a b' } } }))).rejects.toMatchObject({ type: 'BAD_TRAFFIC_SPEC' });
});

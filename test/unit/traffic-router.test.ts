import { createServer, type Server } from 'node:http';
import { probeHttp, percentile } from '../../agent/activities/traffic';
import { createTrafficActivities } from '../../agent/activities/traffic';
import { parseAgentOptions, UsageError } from '../../agent/runtime/options';
import { parseConfigHeader, renderHaproxyConfig, shapeOf } from '../../agent/traffic/haproxy-config';
import { specProblem } from '../../agent/traffic/spec-checks';
import { parseServersState, parseShowStat } from '../../agent/traffic/haproxy-runtime';
import { countAccessLog, parseNginxHeader, renderNginxConfig, upstreamWeights } from '../../agent/traffic/nginx-config';
import { canaryPercent, serverWeights, splitEvenly } from '../../agent/traffic/weights';
import { WebhookProvider } from '../../agent/traffic/webhook';
import { deliveryResultSchema, RESULT_SCHEMAS } from '../../domain/deployments/deliveries';
import type { TrafficSpec, TrafficState } from '../../domain/traffic';
import { createLogger } from '../../platform/logger';

/** The router's pure parts: weight arithmetic, HAProxy's config and answers, the agent's router flags, the result shapes. */

const backend = (name: string, port: number) => ({ name, targetId: `t-${name}`, host: '127.0.0.1', port });
const spec = (canaryWeight: number, stable = 1, canary = 1, match: TrafficSpec['match'] = null): TrafficSpec => ({
  routeId: 'env-1',
  stable: Array.from({ length: stable }, (_, i) => backend(`s${i}`, 4000 + i)),
  canary: Array.from({ length: canary }, (_, i) => backend(`c${i}`, 5000 + i)),
  canaryWeight,
  match,
});
const paths = { socket: '/run/x/admin.sock', pidFile: '/run/x/haproxy.pid' };

describe('weights', () => {
  test('a percent is split across a variant’s servers in whole numbers that add up to it exactly', () => {
    expect(splitEvenly(10, 3)).toEqual([4, 3, 3]);
    expect(splitEvenly(100, 1)).toEqual([100]);
    expect(splitEvenly(0, 2)).toEqual([0, 0]);
    expect(splitEvenly(5, 0)).toEqual([]);
  });
  test('canary p of 100 across canary servers, 100-p across stable; 0 and 100 leave the other variant at weight 0', () => {
    expect(serverWeights(spec(10, 3, 2))).toEqual({ stable: [30, 30, 30], canary: [5, 5] });
    expect(serverWeights(spec(0))).toEqual({ stable: [100], canary: [0] });
    expect(serverWeights(spec(100))).toEqual({ stable: [0], canary: [100] });
    expect(serverWeights(spec(33.4, 1, 0))).toEqual({ stable: [100], canary: [] });
    expect(serverWeights(spec(50, 0, 1))).toEqual({ stable: [], canary: [100] });
  });
  test('the canary percent read back from weights', () => {
    expect(canaryPercent(90, 10)).toBe(10);
    expect(canaryPercent(30, 30)).toBe(50);
    expect(canaryPercent(0, 0)).toBe(0);
  });
});

describe('the HAProxy config', () => {
  test('one frontend on the listen address, one round-robin backend with every server and its weight, and the admin socket', () => {
    const { text, servers } = renderHaproxyConfig(spec(10, 2, 1), '127.0.0.1:8080', paths);
    expect(text).toContain('  bind 127.0.0.1:8080');
    expect(text).toContain('  stats socket /run/x/admin.sock mode 600 level admin expose-fd listeners');
    expect(text).toMatch(/backend split\n  balance roundrobin\n  server stable-0 127.0.0.1:4000 weight 45\n  server stable-1 127.0.0.1:4001 weight 45\n  server canary-0 127.0.0.1:5000 weight 10\n/);
    expect(text).not.toContain('canary_only');
    expect(servers.map((s) => [s.id, s.name, s.weight])).toEqual([
      ['stable-0', 's0', 45],
      ['stable-1', 's1', 45],
      ['canary-0', 'c0', 10],
    ]);
  });
  test('a header or cookie match sends matching requests to a backend of canary servers only', () => {
    const header = renderHaproxyConfig(spec(0, 1, 1, { header: { name: 'X-Canary', value: 'yes' } }), ':8080', paths).text;
    expect(header).toContain('  acl canary_match req.hdr(X-Canary) -m str yes\n  use_backend canary_only if canary_match');
    expect(header).toMatch(/backend canary_only\n  balance roundrobin\n  server canary-0 127.0.0.1:5000 weight 1\n/);
    const cookie = renderHaproxyConfig(spec(0, 1, 1, { cookie: { name: 'variant', value: 'b' } }), ':8080', paths).text;
    expect(cookie).toContain('  acl canary_match req.cook(variant) -m str b');
  });
  test('only weights differ between two specs of the same shape: that is the no-reload path', () => {
    const a = renderHaproxyConfig(spec(10), ':8080', paths);
    const b = renderHaproxyConfig(spec(90), ':8080', paths);
    expect(a.shape).toBe(b.shape);
    expect(shapeOf(b.text)).toBe(a.shape);
    expect(renderHaproxyConfig(spec(10, 2), ':8080', paths).shape).not.toBe(a.shape);
    expect(renderHaproxyConfig(spec(10, 1, 1, { header: { name: 'X', value: 'y' } }), ':8080', paths).shape).not.toBe(a.shape);
  });
  test('the first line records the route, the match and the servers’ names for read-back', () => {
    const { text } = renderHaproxyConfig(spec(10, 1, 1, { header: { name: 'X', value: 'y' } }), ':8080', paths);
    expect(parseConfigHeader(text)).toEqual({
      routeId: 'env-1',
      listen: ':8080',
      match: { header: { name: 'X', value: 'y' } },
      servers: [
        { id: 'stable-0', variant: 'stable', name: 's0', targetId: 't-s0', address: '127.0.0.1:4000' },
        { id: 'canary-0', variant: 'canary', name: 'c0', targetId: 't-c0', address: '127.0.0.1:5000' },
      ],
    });
    expect(parseConfigHeader('global\n')).toBeNull();
  });
  test('anything that would inject config is refused before it is rendered', () => {
    expect(specProblem(spec(10))).toBeNull();
    expect(specProblem(spec(10, 1, 1, { header: { name: 'X-A', value: 'v\n  server evil 1.2.3.4:1' } }))).toMatch(/header value/);
    expect(specProblem(spec(10, 1, 1, { cookie: { name: 'a b', value: 'v' } }))).toMatch(/cookie name/);
    expect(specProblem({ ...spec(10), stable: [{ ...backend('s', 1), host: 'h;x' }] })).toMatch(/host/);
    expect(specProblem({ ...spec(10), stable: [backend('s', 70000)] })).toMatch(/port/);
    expect(specProblem(spec(101))).toMatch(/canaryWeight/);
    expect(specProblem(spec(10, 0, 0))).toMatch(/no backend/);
    expect(specProblem(spec(10, 1, 0, { header: { name: 'X', value: 'y' } }))).toMatch(/no server/);
  });
});

describe('the nginx config', () => {
  const nginxPaths = { dir: '/run/n', pidFile: '/run/n/nginx.pid', accessLog: '/run/n/access.log', errorLog: '/run/n/error.log' };
  test('upstream weights (0 is down), a map for the header match, and read-back of the weights it states', () => {
    const text = renderNginxConfig(spec(0, 1, 2, { header: { name: 'X-Canary', value: 'yes' } }), ':8080', nginxPaths);
    expect(text).toMatch(/upstream split \{\n    server 127.0.0.1:4000 weight=100;\n    server 127.0.0.1:5000 down;\n    server 127.0.0.1:5001 down;\n  \}/);
    expect(text).toContain('  map $http_x_canary $tollgate_upstream {\n    default split;\n    "yes" canary_only;\n  }');
    expect(text).toContain('    listen *:8080;');
    expect(text).toContain('      proxy_pass http://$tollgate_upstream;');
    expect(upstreamWeights(renderNginxConfig(spec(30, 1, 2), '127.0.0.1:8080', nginxPaths))).toEqual([
      { address: '127.0.0.1:4000', weight: 70 },
      { address: '127.0.0.1:5000', weight: 15 },
      { address: '127.0.0.1:5001', weight: 15 },
    ]);
    expect(parseNginxHeader(text)?.match).toEqual({ header: { name: 'X-Canary', value: 'yes' } });
  });
  test('the access log is counted by the upstream that answered last', () => {
    const counts = countAccessLog('127.0.0.1:4000|200|0.002\n127.0.0.1:5000|500|0.004\n127.0.0.1:4000, 127.0.0.1:5000|502, 200|0.001, 0.001\n-|-|-\n');
    expect(counts.get('127.0.0.1:4000')).toEqual({ requests: 1, errors5xx: 0, seconds: 0.002 });
    expect(counts.get('127.0.0.1:5000')).toEqual({ requests: 2, errors5xx: 1, seconds: 0.005 });
    expect(counts.get('127.0.0.1:4000')?.requests).toBe(1);
  });
});

describe('HAProxy runtime answers', () => {
  test('show servers state and show stat are read by column name', () => {
    const state = '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight\n3 split 1 stable-0 127.0.0.1 2 0 90 100\n3 split 2 canary-0 127.0.0.1 2 0 10 0\n\n';
    expect(parseServersState(state).map((s) => [s.server, s.weight, s.opState])).toEqual([
      ['stable-0', 90, 2],
      ['canary-0', 10, 2],
    ]);
    const stat = '# pxname,svname,stot,econ,status,hrsp_5xx,req_tot,rtime,\nroute,FRONTEND,9,,OPEN,0,9,,\nsplit,stable-0,5,1,no check,2,5,3,\nsplit,canary-0,4,0,UP,4,,7,\nsplit,BACKEND,9,0,UP,6,9,4,\n';
    expect(parseShowStat(stat)).toEqual([
      { backend: 'split', server: 'stable-0', status: 'no check', requests: 5, errors5xx: 3, rtimeMs: 3 },
      { backend: 'split', server: 'canary-0', status: 'UP', requests: 4, errors5xx: 4, rtimeMs: 7 },
    ]);
  });
});

describe('the agent’s router flags', () => {
  const base = ['--api', 'http://api:3000', '--name', 'edge'];
  test('haproxy needs a listen address; webhook needs its URL; no router by default', () => {
    expect(parseAgentOptions(base, {}).router).toBeUndefined();
    expect(parseAgentOptions([...base, '--router', 'haproxy', '--router-listen', '127.0.0.1:8080', '--haproxy-bin', '/opt/haproxy'], {}).router).toEqual({ provider: 'haproxy', listen: '127.0.0.1:8080', bin: '/opt/haproxy' });
    expect(parseAgentOptions(base, { TOLLGATE_ROUTER: 'haproxy', TOLLGATE_ROUTER_LISTEN: ':9000' }).router).toEqual({ provider: 'haproxy', listen: ':9000' });
    expect(parseAgentOptions([...base, '--router', 'webhook', '--router-webhook-url', 'http://lb.internal:9000/traffic'], {}).router).toEqual({
      provider: 'webhook',
      listen: 'lb.internal:9000',
      webhookUrl: 'http://lb.internal:9000/traffic',
    });
    expect(() => parseAgentOptions([...base, '--router', 'haproxy'], {})).toThrow(/--router-listen/);
    expect(() => parseAgentOptions([...base, '--router', 'envoy', '--router-listen', ':1'], {})).toThrow(UsageError);
    expect(() => parseAgentOptions([...base, '--router', 'haproxy', '--router-listen', 'nope'], {})).toThrow(/host:port/);
    expect(() => parseAgentOptions([...base, '--router', 'webhook'], {})).toThrow(/--router-webhook-url/);
    expect(() => parseAgentOptions([...base, '--router-listen', ':8080'], {})).toThrow(/need --router/);
  });
});

describe('traffic tasks', () => {
  test('an agent without a router fails them with NO_ROUTER, not retryable', async () => {
    const activities = createTrafficActivities({ router: undefined, log: createLogger('t', 'silent') });
    await expect(activities.setTraffic({ tenantId: 't', rolloutId: 'r', spec: spec(10) })).rejects.toMatchObject({ type: 'NO_ROUTER', nonRetryable: true });
    await expect(activities.readTraffic({ tenantId: 't', rolloutId: 'r', routeId: 'env-1' })).rejects.toMatchObject({ type: 'NO_ROUTER' });
    await expect(activities.routerStats({ tenantId: 't', rolloutId: 'r', routeId: 'env-1' })).rejects.toMatchObject({ type: 'NO_ROUTER' });
  });

  test('probeHttp counts 5xx and failures as errors per variant, with p50 and p99', async () => {
    let n = 0;
    const server: Server = createServer((req, res) => {
      res.writeHead(req.url === '/bad' && n++ % 2 === 0 ? 500 : 200);
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const results = await probeHttp({
        tenantId: 't',
        rolloutId: 'r',
        count: 4,
        timeoutMs: 2_000,
        urls: [
          { variant: 'stable', url: `http://127.0.0.1:${port}/ok` },
          { variant: 'canary', url: `http://127.0.0.1:${port}/bad` },
          { variant: 'canary', url: 'http://127.0.0.1:1/refused' },
        ],
      });
      expect(results).toEqual([
        { variant: 'stable', requests: 4, errors: 0, p50Ms: expect.any(Number), p99Ms: expect.any(Number) },
        { variant: 'canary', requests: 8, errors: 6, p50Ms: expect.any(Number), p99Ms: expect.any(Number) },
      ]);
      expect(RESULT_SCHEMAS.probeHttp.safeParse(results).success).toBe(true);
      expect(deliveryResultSchema.safeParse({ status: 'completed', result: results }).success).toBe(true);
    } finally {
      server.close();
    }
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 0.99)).toBe(5);
  });
});

describe('the webhook router', () => {
  test('POSTs the spec, reads the state back with GET on the same URL, and refuses an answer that is not a TrafficState', async () => {
    const posted: unknown[] = [];
    let state: TrafficState | Record<string, unknown> = { provider: 'webhook', routeId: 'env-1', canaryWeight: 20, stableWeight: 80, match: null, servers: [], readAt: new Date().toISOString() };
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST') posted.push(JSON.parse(body));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(req.method === 'POST' ? '' : JSON.stringify(req.url?.startsWith('/traffic/stats') ? { routeId: 'env-1', stable: { requests: 1, errors5xx: 0, meanResponseMs: null }, canary: { requests: 2, errors5xx: 1, meanResponseMs: 3 }, at: 'now' } : state));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const webhook = new WebhookProvider({ url: `http://127.0.0.1:${port}/traffic`, listen: 'lb:443' });
      expect(webhook.router).toEqual({ provider: 'webhook', listen: 'lb:443' });
      expect((await webhook.apply(spec(20))).canaryWeight).toBe(20);
      expect(posted).toEqual([spec(20)]);
      expect((await webhook.stats('env-1')).canary).toEqual({ requests: 2, errors5xx: 1, meanResponseMs: 3 });
      state = { canaryWeight: 'lots' };
      await expect(webhook.read('env-1')).rejects.toThrow(/did not answer a TrafficState/);
    } finally {
      server.close();
    }
  });
});

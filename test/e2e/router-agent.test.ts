import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HaproxyProvider } from '../../agent/traffic/haproxy';
import { routerDir } from '../../agent/traffic/open-router';
import { startDemoService, type DemoService } from '../../demo/service';
import { createLogger } from '../../platform/logger';
import { ensureHaproxy } from '../../scripts/stack/haproxy';
import { freePort } from '../../scripts/stack/processes';
import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { API, createEnvironment, expectStatus } from '../support/inventory';
import { spawnTs, type Spawned } from '../support/processes';

/**
 * A real agent process started with --router haproxy: it reports its router at registration and in every heartbeat
 * (the agents API shows it), stops its HAProxy when it is stopped, and the next agent process serves the last
 * applied traffic again.
 */
let app: TestApp;
let stable: DemoService;
let canary: DemoService;
let stateDir: string;
let listen: string;
let bin: string;
const name = `edge-${process.pid}`;
const running: Spawned[] = [];

beforeAll(async () => {
  bin = ensureHaproxy(() => undefined);
  app = await startTestApp({ worker: false });
  stable = await startDemoService({ port: 0, version: '1.0.0', releaseId: 'rel-stable' });
  canary = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'rel-canary' });
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'router-agent-'));
  listen = `127.0.0.1:${await freePort()}`;
}, 120_000);
afterAll(async () => {
  for (const proc of running) await stopAgent(proc);
  await new HaproxyProvider({ bin, listen, dir: path.join(routerDir(stateDir, name), 'haproxy'), log: createLogger('t', 'silent') }).close();
  await stable?.close();
  await canary?.close();
  await app?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function startAgent(environmentId: string, token: string | undefined): Spawned {
  const proc = spawnTs('worker/agent.ts', { LOG_LEVEL: process.env.TEST_AGENT_LOG_LEVEL ?? 'warn', ...(token ? { TOLLGATE_AGENT_TOKEN: token } : {}) }, [
    '--api', app.url, '--name', name, '--environment', environmentId, '--state-dir', stateDir, '--heartbeat-interval', '1s',
    '--router', 'haproxy', '--router-listen', listen, '--haproxy-bin', bin,
  ]);
  running.push(proc);
  return proc;
}

async function stopAgent(proc: Spawned): Promise<number | null> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  return proc.exited;
}

async function canaryShare(n: number): Promise<number> {
  let toCanary = 0;
  for (let i = 0; i < n; i++) {
    const body = (await (await fetch(`http://${listen}/`)).json()) as { version: string };
    if (body.version === '2.0.0') toCanary++;
  }
  return toCanary / n;
}

test('the agent reports its router, the API shows it, and its HAProxy stops with it and comes back with the last applied traffic', async () => {
  const manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  const registrar = await app.token('ci-bot', { roles: ['agent-registrar'] });
  const env = await createEnvironment(app, manager);
  const first = startAgent(env.id, registrar);

  const agent = await until('the agent to register', async () => {
    if (first.child.exitCode !== null) throw new Error(`the agent exited (${first.child.exitCode}):\n${first.output()}`);
    return expectStatus(await app.http('GET', `${API}/agents?environmentId=${env.id}`, { token: manager }), 200)[0];
  }, 60_000);
  expect(agent.router).toEqual({ provider: 'haproxy', listen });

  // Every heartbeat carries it: cleared behind the agent's back, it is back within a beat.
  await app.pool.query('UPDATE agents SET router = NULL WHERE tenant_id = $1 AND id = $2', [app.tenant, agent.id]);
  await eventually(async () => expect(expectStatus(await app.http('GET', `${API}/agents/${agent.id}`, { token: manager }), 200).router).toEqual({ provider: 'haproxy', listen }), { timeoutMs: 10_000 });

  // Traffic applied to the agent's router (what its setTraffic task does), then the agent stops: so does HAProxy.
  const router = new HaproxyProvider({ bin, listen, dir: path.join(routerDir(stateDir, name), 'haproxy'), log: createLogger('t', 'silent') });
  await router.apply({
    routeId: env.id,
    stable: [{ name: 'web-1', targetId: 't1', host: '127.0.0.1', port: stable.port }],
    canary: [{ name: 'web-2', targetId: 't2', host: '127.0.0.1', port: canary.port }],
    canaryWeight: 30,
    match: null,
  });
  expect(Math.abs((await canaryShare(200)) - 0.3)).toBeLessThanOrEqual(0.03);
  const pid = router.masterPid()!;
  expect(await stopAgent(first)).toBe(0);
  expect(() => process.kill(pid, 0)).toThrow();
  await expect(fetch(`http://${listen}/`)).rejects.toThrow();

  // A new agent process (its saved credential, no token) starts HAProxy again with the last applied spec.
  const second = startAgent(env.id, undefined);
  await until('the router to serve again', async () => {
    if (second.child.exitCode !== null) throw new Error(`the agent exited (${second.child.exitCode}):\n${second.output()}`);
    return fetch(`http://${listen}/`).then((r) => r.ok, () => false);
  }, 30_000);
  expect((await router.read(env.id)).canaryWeight).toBe(30);
  expect(Math.abs((await canaryShare(200)) - 0.3)).toBeLessThanOrEqual(0.03);
  expect(router.masterPid()).not.toBe(pid);
});

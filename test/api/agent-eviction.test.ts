import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { API, createEnvironment, expectStatus, post, unique } from '../support/inventory';
import { spawnTs, waitForOutput, type Spawned } from '../support/processes';

/**
 * The attacks of issue 13 §2 with real agent processes against the real API: a
 * second registration naming a running agent's targets, a deleted agent that
 * registered itself again seconds later with the token it was started with, a
 * revoked agent that kept polling.
 */
let app: TestApp;
let manager: string;
let registrar: string;
let env: any;
let root: string;
const started: Spawned[] = [];

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { AGENT_OFFLINE_AFTER: '5s', AGENT_HEARTBEAT_INTERVAL: '1s' } });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  registrar = await app.token('ci-bot', { roles: ['agent-registrar'] });
  env = await createEnvironment(app, manager);
  root = mkdtempSync(path.join(tmpdir(), 'agent-eviction-'));
});
afterAll(async () => {
  for (const proc of started.splice(0)) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  rmSync(root, { recursive: true, force: true });
  await app?.close();
});

function agent(name: string, token: string, targets: string[], extra: string[] = []): Spawned {
  const proc = spawnTs('worker/agent.ts', { LOG_LEVEL: 'info', TOLLGATE_AGENT_TOKEN: token }, [
    '--api', app.url, '--name', name, '--environment', env.id, '--targets', targets.join(','), '--state-dir', path.join(root, name), '--heartbeat-interval', '500ms', ...extra,
  ]);
  started.push(proc);
  return proc;
}

const call = (method: string, p: string, body?: unknown) => app.http(method, `${API}${p}`, { token: manager, body });
const target = async (id: string) => expectStatus(await call('GET', `/targets/${id}`), 200);
const agentsNamed = async (name: string) => expectStatus(await call('GET', `/agents?environmentId=${env.id}&pageSize=100`), 200).filter((a: any) => a.name === name);
const saidLines = (proc: Spawned) => proc.output().split('\n').filter((l) => l.startsWith('tollgate agent:'));

async function running(proc: Spawned, name: string): Promise<any> {
  await waitForOutput(proc, /"msg":"agent running"/, 60_000);
  return until(`${name} online`, async () => (await agentsNamed(name)).find((a: any) => a.status === 'online'), 15_000);
}

test('a second registration cannot take a running agent’s targets; a managed take-over can, and the running owner says it lost them', async () => {
  const web1 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
  const web2 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
  const ownerProc = agent('owner', registrar, [web1.name, web2.name]);
  const owner = await running(ownerProc, 'owner');
  expect([...owner.targetIds].sort()).toEqual([web1.id, web2.id].sort());

  // The report: {"name":"intruder","targets":["web-1","web-2"]} with a registration token was a 201.
  const intruder = agent('intruder', registrar, [web1.name, web2.name]);
  expect(await intruder.exited).toBe(1);
  expect(saidLines(intruder)).toEqual([expect.stringMatching(/^tollgate agent: registering agent intruder was refused: Targets .* belong to an online agent;.*--take-over/)]);
  expect(saidLines(intruder)[0]).toContain(`${web1.name} (agent owner)`);
  expect(await agentsNamed('intruder')).toEqual([]);
  expect((await target(web1.id)).agentId).toBe(owner.id);
  expect((await target(web2.id)).agentId).toBe(owner.id);

  // An operator moves one deliberately.
  const newcomerProc = agent('newcomer', manager, [web1.name], ['--take-over']);
  const newcomer = await running(newcomerProc, 'newcomer');
  expect(newcomer.targetIds).toEqual([web1.id]);
  await waitForOutput(ownerProc, new RegExp(`target ${web1.name} was taken over by agent newcomer: this agent no longer reports or deploys it`), 15_000);
  expect((await target(web2.id)).agentId).toBe(owner.id);
  expect(ownerProc.child.exitCode).toBeNull();
});

test('a deleted agent still running stops and does not register itself again; its token cannot bring it back; a new token can', async () => {
  const web = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
  const token = await app.token('fleet-bot', { roles: ['agent-registrar'] });
  const first = agent('evicted', token, [web.name]);
  const evicted = await running(first, 'evicted');

  expect((await call('DELETE', `/agents/${evicted.id}`)).status).toBe(204);
  expect(await first.exited).toBe(1);
  expect(saidLines(first)).toEqual([expect.stringMatching(/^tollgate agent: the API refused agent evicted's credential \(AGENT_CREDENTIAL_INVALID: .*\); the agent stops and does not register itself again/)]);
  // The report: it registered itself again 9.8 s later and took its target back. Now it has ended instead.
  expect(await agentsNamed('evicted')).toEqual([]);
  expect((await target(web.id)).agentId).toBeNull();

  // Restarted by a supervisor, token and all: refused on its saved credential.
  const again = agent('evicted', token, [web.name]);
  expect(await again.exited).toBe(1);
  expect(saidLines(again)).toEqual([expect.stringMatching(/^tollgate agent: the API refused agent evicted's credential \(AGENT_CREDENTIAL_INVALID/)]);
  // Its state file removed, the old token is still refused for this name.
  rmSync(path.join(root, 'evicted', 'evicted.json'));
  const withOldToken = agent('evicted', token, [web.name]);
  expect(await withOldToken.exited).toBe(1);
  expect(saidLines(withOldToken)).toEqual([expect.stringMatching(/^tollgate agent: the registration token was used for agent evicted before \(.*\); a deleted or revoked agent is registered again only with a new token$/)]);
  expect(await agentsNamed('evicted')).toEqual([]);

  // The operator's deliberate act: a new token.
  const fresh = await app.token('fleet-bot', { roles: ['agent-registrar'], ttlSeconds: 3599 });
  const back = await running(agent('evicted', fresh, [web.name]), 'evicted');
  expect((await target(web.id)).agentId).toBe(back.id);
});

test('a revoked agent stops polling and exits, saying why', async () => {
  const web = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
  const proc = agent('revoked', registrar, [web.name]);
  const me = await running(proc, 'revoked');
  expectStatus(await call('PUT', `/agents/${me.id}`, { name: 'revoked', labels: {}, revoked: true }), 200);
  expect(await proc.exited).toBe(1);
  expect(saidLines(proc)).toEqual([expect.stringMatching(/^tollgate agent: the API refused agent revoked's credential \(AGENT_REVOKED: Agent revoked .* was revoked at .*\);.*PUT \/api\/v1\/agents\/[0-9a-f-]{36} with "revoked": false/)]);
  // It took its work channel down with it: the API no longer relays tasks to it.
  await until('the API to stop relaying tasks to it', () => !app.deps.agentWork!.relaying(me.id), 15_000, 100);
  // Still revoked, still its one agent: nothing registered in its place.
  expect((await agentsNamed('revoked')).map((a: any) => [a.id, a.status])).toEqual([[me.id, 'revoked']]);
});

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAgentOptions, UsageError } from '../../activities/agent/options';
import { until } from '../support/eventually';
import { spawnTs, waitForOutput, type Spawned } from '../support/processes';
import { FakeAgentApi } from './agent-fake-api';

/**
 * `npm run agent` as a real process against the in-test API (which records what the agent sends): registration and
 * its state file, reuse on restart, re-registration when the credential is refused, heartbeats with what each target
 * runs, the work channel it opens with its own credential (it is given no Temporal address and needs none), clean
 * stop, and one-line errors.
 */

let api: FakeAgentApi;
let stateDir: string;
const running: Spawned[] = [];

beforeEach(async () => {
  api = await new FakeAgentApi().start();
  stateDir = mkdtempSync(path.join(tmpdir(), 'agent-process-'));
  api.targets = [
    { id: 't1', name: 'web-1', environmentId: 'env-1', labels: { role: 'web' }, agentId: null, properties: { port: '1' }, healthCheck: { url: `${api.url}/health/web-1`, command: null, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 } },
    { id: 't2', name: 'web-2', environmentId: 'env-1', labels: { role: 'web' }, agentId: null, properties: {}, healthCheck: null },
    { id: 't3', name: 'db-1', environmentId: 'env-1', labels: { role: 'db' }, agentId: 'someone-else', properties: {}, healthCheck: null },
  ];
  api.health.set('web-1', { status: 200, body: { status: 'ok', version: '9.0.0', releaseId: 'rel-9' } });
});

afterEach(async () => {
  for (const proc of running.splice(0)) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  await api.close();
  rmSync(stateDir, { recursive: true, force: true });
});

function agent(args: string[], env: Record<string, string> = {}): Spawned {
  const proc = spawnTs('worker/agent.ts', { LOG_LEVEL: 'info', ...env }, args);
  running.push(proc);
  return proc;
}

const baseArgs = () => ['--api', api.url, '--name', 'web-agent', '--environment', 'env-1', '--state-dir', stateDir, '--heartbeat-interval', '300ms'];
const jsonLines = (proc: Spawned) =>
  proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const channelOf = (agentId: string) => api.channels.find((c) => c.agentId === agentId);

test('registers with the token, keeps its credential in a 0600 state file, heartbeats what its targets run, and opens its work channel', async () => {
  const proc = agent([...baseArgs(), '--token', api.registrationToken, '--labels', 'role=web,zone=a', '--targets', 'web-1,web-2']);
  await waitForOutput(proc, /"msg":"agent running"/, 60_000);

  const [register] = api.of('register');
  expect(register.auth).toBe(`Bearer ${api.registrationToken}`);
  expect(register.body).toEqual({ name: 'web-agent', environmentId: 'env-1', labels: { role: 'web', zone: 'a' }, version: expect.any(String), capabilities: expect.arrayContaining(['deploy-hook']), targets: ['web-1', 'web-2'] });
  const [me] = [...api.agents.values()];
  const line = jsonLines(proc).find((l) => l.msg === 'agent running');
  expect(line).toMatchObject({ service: 'agent', agentId: me.id, api: api.url });
  expect(line).not.toHaveProperty('temporal');

  const file = path.join(stateDir, 'web-agent.json');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ id: me.id, credential: me.credential, taskQueue: `agent-${me.id}` });

  // Heartbeats on the interval, with the credential, reporting its own two targets only.
  const beats = await until('three heartbeats', () => (api.heartbeats.length >= 3 ? api.heartbeats : undefined), 15_000);
  const heartbeatRequests = api.of('heartbeat');
  expect(heartbeatRequests.every((r) => r.auth === `Bearer ${me.credential}`)).toBe(true);
  expect(heartbeatRequests[2].at - heartbeatRequests[1].at).toBeGreaterThanOrEqual(250);
  expect(beats.at(-1)!.body).toEqual({
    version: expect.any(String),
    capabilities: expect.any(Array),
    targets: [
      { targetId: 't1', releaseId: 'rel-9', version: '9.0.0', healthy: true },
      { targetId: 't2', releaseId: null, version: null, healthy: null },
    ],
  });

  const channel = await until('the work channel to open', () => channelOf(me.id), 30_000);
  expect(channel.auth).toBe(`Bearer ${me.credential}`);
  await waitForOutput(proc, /"msg":"work channel ready/, 10_000);

  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  expect(proc.output()).toContain('"msg":"agent stopped"');
});

test('restarts on its saved credential without the token; a refused credential is replaced by registering again', async () => {
  const first = agent([...baseArgs(), '--token', api.registrationToken]);
  await waitForOutput(first, /"msg":"agent running"/, 60_000);
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  const [original] = [...api.agents.values()];

  const second = agent(baseArgs());
  await waitForOutput(second, /"msg":"agent running"/, 60_000);
  expect(api.of('register')).toHaveLength(1);
  expect(jsonLines(second).find((l) => l.msg === 'agent running')).toMatchObject({ agentId: original.id });
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);

  // The agent is deleted in the API: its credential stops working.
  api.agents.delete(original.id);
  const withoutToken = agent(baseArgs());
  expect(await withoutToken.exited).toBe(1);
  expect(withoutToken.output()).toMatch(/tollgate agent: the API refused agent web-agent's saved credential .* pass --token \(or TOLLGATE_AGENT_TOKEN\) to register it again/);

  const withToken = agent(baseArgs(), { TOLLGATE_AGENT_TOKEN: api.registrationToken });
  await waitForOutput(withToken, /"msg":"agent running"/, 60_000);
  const renewed = [...api.agents.values()][0];
  expect(renewed.id).not.toBe(original.id);
  expect(JSON.parse(readFileSync(path.join(stateDir, 'web-agent.json'), 'utf8'))).toMatchObject({ id: renewed.id, credential: renewed.credential });

  // Revoked while running: the next heartbeat registers again and the worker moves to the new queue.
  api.agents.delete(renewed.id);
  const third = await until('a third registration', () => (api.of('register').length >= 3 ? [...api.agents.values()][0] : undefined), 15_000);
  await until('heartbeats from the new identity', () => api.heartbeats.some((h) => h.agentId === third.id), 15_000);
  await waitForOutput(withToken, new RegExp(`"agentId":"${third.id}".*"msg":"work channel ready`), 30_000);
  await until('the work channel under the new identity', () => channelOf(third.id), 30_000);
});

test('a name another agent holds, with no saved credential, is one clear line', async () => {
  api.addAgent({ name: 'web-agent' });
  const proc = agent([...baseArgs(), '--token', api.registrationToken]);
  expect(await proc.exited).toBe(1);
  expect(proc.output().trim()).toMatch(/^tollgate agent: an agent named web-agent is already registered .* another --name$/);
  expect(existsSync(path.join(stateDir, 'web-agent.json'))).toBe(false);
});

test('an unreachable API and bad flags are one line each', async () => {
  const closed = await closedPort();
  const unreachable = agent(['--api', `http://127.0.0.1:${closed}`, '--token', 't', '--name', 'a', '--environment', 'e', '--state-dir', stateDir]);
  expect(await unreachable.exited).toBe(1);
  expect(unreachable.output().trim()).toBe(`tollgate agent: cannot reach the Tollgate API at http://127.0.0.1:${closed}: ECONNREFUSED`);

  const bogus = agent(['--api', api.url, '--bogus']);
  expect(await bogus.exited).toBe(2);
  expect(bogus.output().trim()).toMatch(/^tollgate agent: Unknown option '--bogus' \(see --help\)$/);
});

describe('options', () => {
  test('flags win over environment variables; labels, targets and the interval are parsed', () => {
    const options = parseAgentOptions(['--api', 'http://api:3000/', '--labels', 'role=web, zone = a', '--targets', 'a, b', '--heartbeat-interval', '2s'], {
      TOLLGATE_API_URL: 'http://ignored',
      TOLLGATE_AGENT_NAME: 'from-env',
      TOLLGATE_AGENT_TOKEN: 'tok',
      TOLLGATE_ENVIRONMENT_ID: 'env-9',
      DATA_DIR: '/data',
    });
    expect(options).toMatchObject({
      apiUrl: 'http://api:3000/',
      name: 'from-env',
      token: 'tok',
      environmentId: 'env-9',
      labels: { role: 'web', zone: 'a' },
      targets: ['a', 'b'],
      heartbeatIntervalMs: 2000,
      stateDir: '/data/agents',
    });
  });

  test.each([
    [['--name', 'a'], /--api is required/],
    [['--api', 'ftp://x', '--name', 'a'], /--api must be an http/],
    [['--api', 'http://x'], /--name is required/],
    [['--api', 'http://x', '--name', 'a', '--labels', 'role'], /--labels takes key=value pairs/],
    [['--api', 'http://x', '--name', 'a', '--heartbeat-interval', 'soon'], /--heartbeat-interval must be a duration/],
    [['--api', 'http://x', '--name', 'a', '--temporal', 'nowhere'], /--temporal must be HOST:PORT/],
    [['--api', 'http://x', '--name', 'a', 'stray'], /Unexpected argument 'stray'/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseAgentOptions(argv, {})).toThrow(UsageError);
    expect(() => parseAgentOptions(argv, {})).toThrow(message);
  });
});

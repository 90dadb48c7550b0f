import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { groupMembers } from '../../agent/runtime/hook-registry';
import { parseAgentOptions, UsageError } from '../../agent/runtime/options';
import { until } from '../support/eventually';
import { ROOT, spawnTs, waitForOutput, type Spawned } from '../support/processes';
import { FakeAgentApi } from './agent-fake-api';

/**
 * `npm run agent` as a real process against the in-test API (which records what the agent sends): registration and
 * its state file, reuse on restart, a stop (never a new registration) when the credential is refused, heartbeats
 * with what each target runs, the work channel it opens with its own credential (it is given no Temporal address and
 * needs none), clean stop (through npm too), where the token comes from, lost targets, hooks a killed agent left,
 * and one-line errors.
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
    // No --router: the agent says it drives none.
    router: null,
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
  // A token on the command line works, and is warned about.
  expect(jsonLines(proc)).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringContaining('the registration token was given with --token') }));
});

test('restarts on its saved credential without the token; a refused credential stops it with one line and exit 1, and it never registers again', async () => {
  const first = agent(baseArgs(), { TOLLGATE_AGENT_TOKEN: api.registrationToken });
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

  // Deleted (or revoked) in the API while it runs, with the token at hand: it stops, and does not come back.
  const running = agent(baseArgs(), { TOLLGATE_AGENT_TOKEN: api.registrationToken });
  await waitForOutput(running, /"msg":"agent running"/, 60_000);
  api.agents.delete(original.id);
  expect(await running.exited).toBe(1);
  const said = running.output().split('\n').filter((l) => l.startsWith('tollgate agent:'));
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(/^tollgate agent: the API refused agent web-agent's credential \(UNAUTHORIZED: [^)]*\); the agent stops and does not register itself again\. To run it again an operator registers it anew: remove .*web-agent\.json and start it with a new registration token/);
  expect(api.of('register')).toHaveLength(1);
  expect(api.agents.size).toBe(0);

  // Started again as a supervisor would, token and all: the same line, still no registration.
  const restarted = agent(baseArgs(), { TOLLGATE_AGENT_TOKEN: api.registrationToken });
  expect(await restarted.exited).toBe(1);
  expect(restarted.output().trim()).toMatch(/^tollgate agent: the API refused agent web-agent's credential \(UNAUTHORIZED: /);
  expect(api.of('register')).toHaveLength(1);
});

test('a target another agent took is named in a warning and no longer reported', async () => {
  const proc = agent([...baseArgs(), '--targets', 'web-1,web-2'], { TOLLGATE_AGENT_TOKEN: api.registrationToken });
  await waitForOutput(proc, /"msg":"agent running"/, 60_000);
  const [me] = [...api.agents.values()];
  await until('a heartbeat reporting both targets', () => api.heartbeats.find((h) => h.body.targets.length === 2), 15_000);

  // Another registration took web-1 (the API moved it and queued the news for this agent's next heartbeat).
  const intruder = api.addAgent({ name: 'intruder', targetIds: ['t1'] });
  api.targets[0].agentId = intruder.id;
  me.targetIds = ['t2'];
  api.losses.set(me.id, [{ targetId: 't1', targetName: 'web-1', takenByAgentId: intruder.id, takenByAgentName: 'intruder', takenAt: new Date().toISOString() }]);
  const line = await until('the warning', () => jsonLines(proc).find((l) => l.level === 'warn' && l.targetId === 't1'), 15_000);
  expect(line).toMatchObject({ target: 'web-1', takenBy: 'intruder', takenByAgentId: intruder.id, msg: 'target web-1 was taken over by agent intruder: this agent no longer reports or deploys it' });
  const told = api.heartbeats.length;
  await until('two more heartbeats', () => api.heartbeats.length >= told + 2, 15_000);
  expect(api.heartbeats.slice(told).map((h) => h.body.targets.map((t: any) => t.targetId))).toEqual(api.heartbeats.slice(told).map(() => ['t2']));
  expect(proc.child.exitCode).toBeNull();
});

test('the registration token comes from --token-file (or TOLLGATE_AGENT_TOKEN) without a warning; --token still works, with one', async () => {
  const file = path.join(stateDir, 'registration-token');
  writeFileSync(file, `${api.registrationToken}\n`, { mode: 0o600 });
  const fromFile = agent([...baseArgs(), '--token-file', file]);
  await waitForOutput(fromFile, /"msg":"agent running"/, 60_000);
  expect(api.of('register')[0].auth).toBe(`Bearer ${api.registrationToken}`);
  expect(fromFile.output()).not.toContain('--token');
  fromFile.child.kill('SIGTERM');
  expect(await fromFile.exited).toBe(0);

  const onCommandLine = agent([...baseArgs(), '--name', 'cli-agent', '--token', api.registrationToken]);
  await waitForOutput(onCommandLine, /"msg":"agent running"/, 60_000);
  expect(jsonLines(onCommandLine)).toContainEqual(
    expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/^the registration token was given with --token, where any user of this host can read it \(ps.*TOLLGATE_AGENT_TOKEN or --token-file/) }),
  );
});

test('npm run agent passes SIGTERM on: killing the npm process stops the agent and its heartbeats', async () => {
  const npm = spawn('npm', ['run', 'agent', '--', ...baseArgs()], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', TOLLGATE_AGENT_TOKEN: api.registrationToken },
    // A group of its own, as a shell's background job: every process npm starts is in it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout!.on('data', (d) => (out += d));
  npm.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  try {
    await until('the agent to run', () => out.includes('"msg":"agent running"'), 60_000);
    await until('a heartbeat', () => api.heartbeats.length > 0, 15_000);
    process.kill(npm.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    // Every process npm started is gone, the agent included, and nothing heartbeats any more.
    await until('the whole process group to be gone', () => groupMembers(npm.pid!).length === 0, 15_000, 100);
    expect(out).toContain('"msg":"agent stopped"');
    const beats = api.heartbeats.length;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(api.heartbeats.length).toBe(beats);
  } finally {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
});

test('the next start stops the hook a killed agent process left running, and logs it', async () => {
  const hooks = path.join(stateDir, 'web-agent.hooks');
  const holder = spawnTs('test/support/hook-holder.ts', {}, [hooks, stateDir, 'sleep 300; echo never']);
  running.push(holder);
  const file = path.join(hooks, `${holder.child.pid}.json`);
  const pgid = (await until('the hook to be recorded', () => existsSync(file) && JSON.parse(readFileSync(file, 'utf8')), 30_000, 50)).hooks[0].pgid as number;
  await until('the hook to run', () => groupMembers(pgid).length > 0, 10_000, 50);
  holder.child.kill('SIGKILL');
  await holder.exited;
  expect(groupMembers(pgid).length).toBeGreaterThan(0);

  const proc = agent(baseArgs(), { TOLLGATE_AGENT_TOKEN: api.registrationToken });
  await waitForOutput(proc, /"msg":"agent running"/, 60_000);
  expect(jsonLines(proc)).toContainEqual(expect.objectContaining({ level: 'warn', pgid, agentPid: holder.child.pid, stoppedBy: 'SIGTERM', command: 'sleep 300; echo never' }));
  expect(groupMembers(pgid)).toEqual([]);
  expect(existsSync(file)).toBe(false);
});

test('a name another agent holds, with no saved credential, is one clear line', async () => {
  api.addAgent({ name: 'web-agent' });
  const proc = agent(baseArgs(), { TOLLGATE_AGENT_TOKEN: api.registrationToken });
  expect(await proc.exited).toBe(1);
  expect(proc.output().trim()).toMatch(/^tollgate agent: an agent named web-agent is already registered .* another --name$/);
  expect(existsSync(path.join(stateDir, 'web-agent.json'))).toBe(false);
});

test('an unreachable API and bad flags are one line each', async () => {
  const closed = await closedPort();
  const unreachable = agent(['--api', `http://127.0.0.1:${closed}`, '--name', 'a', '--environment', 'e', '--state-dir', stateDir], { TOLLGATE_AGENT_TOKEN: 't' });
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

  test('the token comes from --token-file, --token, TOLLGATE_AGENT_TOKEN_FILE or TOLLGATE_AGENT_TOKEN, in that order, and says which', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-token-'));
    try {
      const file = path.join(dir, 'token');
      writeFileSync(file, '  from-file \n');
      const base = ['--api', 'http://x', '--name', 'a'];
      expect(parseAgentOptions([...base, '--token-file', file], { TOLLGATE_AGENT_TOKEN: 'env' })).toMatchObject({ token: 'from-file', tokenSource: 'file' });
      expect(parseAgentOptions([...base, '--token', 'cli'], { TOLLGATE_AGENT_TOKEN_FILE: file, TOLLGATE_AGENT_TOKEN: 'env' })).toMatchObject({ token: 'cli', tokenSource: 'flag' });
      expect(parseAgentOptions(base, { TOLLGATE_AGENT_TOKEN_FILE: file, TOLLGATE_AGENT_TOKEN: 'env' })).toMatchObject({ token: 'from-file', tokenSource: 'file' });
      expect(parseAgentOptions(base, { TOLLGATE_AGENT_TOKEN: 'env' })).toMatchObject({ token: 'env', tokenSource: 'env', takeOver: false });
      expect(parseAgentOptions(base, {})).toMatchObject({ token: undefined, tokenSource: undefined });
      expect(parseAgentOptions([...base, '--take-over'], {}).takeOver).toBe(true);
      expect(parseAgentOptions(base, { TOLLGATE_AGENT_TAKE_OVER: '1' }).takeOver).toBe(true);

      expect(() => parseAgentOptions([...base, '--token', 'x', '--token-file', file], {})).toThrow(/give one/);
      expect(() => parseAgentOptions([...base, '--token-file', path.join(dir, 'missing')], {})).toThrow(/--token-file .*missing cannot be read: ENOENT/);
      writeFileSync(file, '\n');
      expect(() => parseAgentOptions([...base, '--token-file', file], {})).toThrow(/is empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [['--name', 'a'], /--api is required/],
    [['--api', 'ftp://x', '--name', 'a'], /--api must be an http/],
    [['--api', 'http://x'], /--name is required/],
    [['--api', 'http://x', '--name', 'a', '--labels', 'role'], /--labels takes key=value pairs/],
    [['--api', 'http://x', '--name', 'a', '--heartbeat-interval', 'soon'], /--heartbeat-interval must be a duration/],
    // The agent talks to the API only: there is no Temporal to point it at.
    [['--api', 'http://x', '--name', 'a', '--temporal', '127.0.0.1:7233'], /Unknown option '--temporal'/],
    [['--api', 'http://x', '--name', 'a', 'stray'], /Unexpected argument 'stray'/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseAgentOptions(argv, {})).toThrow(UsageError);
    expect(() => parseAgentOptions(argv, {})).toThrow(message);
  });
});

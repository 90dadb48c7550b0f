import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isAlive, portInUse } from '../../scripts/stack/processes';
import { runningStacks } from '../../scripts/stack/registry';
import { Supervisor, type ServiceName, type SupervisorEvent } from '../../scripts/stack/supervisor';
import { testEnv } from '../support/env';
import { eventually, until } from '../support/eventually';
import { ROOT } from '../support/processes';

/**
 * `npm start` keeps its services running: while Postgres or the Temporal
 * server is down after a kill -9 the API answers retryable 503s (with
 * Retry-After), then the supervisor has it back on the same data; SIGTERM to
 * the npm PID stops everything in order. Runs the real `npm start` on free ports with its own DATA_DIR.
 */

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0].trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

describe('Supervisor (with real child processes)', () => {
  let runDir: string;
  const events: SupervisorEvent[] = [];
  const exits: ServiceName[] = [];
  const sleeper = (name: ServiceName) => ({
    name,
    start: async () => {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      await new Promise((resolve) => child.once('spawn', resolve));
      child.once('exit', () => exits.push(name));
      return { child, stop: () => stopChild(child) };
    },
  });
  let supervisor: Supervisor;

  beforeAll(() => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-supervisor-'));
    supervisor = new Supervisor(runDir, (e) => events.push(e), { initialMs: 50, maxMs: 200, stableAfterMs: 60_000 });
  });
  afterAll(async () => {
    await supervisor.stopAll([['api', 'worker', 'temporal', 'postgres']]);
    rmSync(runDir, { recursive: true, force: true });
  });

  test('a killed child is restarted and its pid file rewritten; a stop removes the files, in the order given', async () => {
    for (const name of ['postgres', 'api'] as const) await supervisor.start(sleeper(name));
    const first = readPid(path.join(runDir, 'postgres.pid'))!;
    expect(isAlive(first)).toBe(true);

    process.kill(first, 'SIGKILL');
    const second = await until('a new postgres pid', () => {
      const pid = readPid(path.join(runDir, 'postgres.pid'));
      return pid !== undefined && pid !== first && isAlive(pid) ? pid : undefined;
    });
    expect(events).toContainEqual(expect.objectContaining({ event: 'exited', service: 'postgres', pid: first, signal: 'SIGKILL', failures: 1, restartInMs: 50 }));
    await until('the restart event', () => events.some((e) => e.event === 'restarted' && e.pid === second));

    // Dying young again doubles the back-off.
    process.kill(second, 'SIGKILL');
    await until('a second restart', () => events.filter((e) => e.event === 'restarted').length === 2);
    expect(events.filter((e) => e.event === 'exited').map((e) => e.restartInMs)).toEqual([50, 100]);

    exits.length = 0;
    await supervisor.stopAll([['api'], ['postgres']]);
    expect(exits).toEqual(['api', 'postgres']);
    expect(readdirSync(runDir)).toEqual([]);
    // Nothing is restarted after a stop.
    await pause(300);
    expect(readdirSync(runDir)).toEqual([]);
  });
});

describe('npm start supervises Postgres and Temporal', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let npm: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let api: string;
  let auth: Record<string, string>;
  const pidOf = (name: ServiceName) => readPid(path.join(dataDir, 'run', `${name}.pid`));

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-supervision-'));
    chmodSync(dataDir, 0o755);
    env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      PG_PORT: String(await freePort()),
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      WORKER_METRICS_PORT: String(await freePort()),
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      LOG_LEVEL: 'warn',
      PATH: `${path.dirname(testEnv.temporalCli)}:${process.env.PATH}`,
    };
    api = `http://127.0.0.1:${env.PORT}`;
    // What a user runs, so the signal below goes to npm's PID as a process manager's would.
    npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout!.on('data', (d) => (output += d));
    npm.stderr!.on('data', (d) => (output += d));
    exited = new Promise((resolve) => npm.once('exit', (code) => resolve(code)));
    await until('npm start to be up', () => {
      if (npm.exitCode !== null) throw new Error(`npm start exited (${npm.exitCode}):\n${output}`);
      return /Tollgate is up/.test(output);
    }, 240_000);
    auth = { authorization: `Bearer ${token()}`, 'content-type': 'application/json' };
  }, 300_000);

  afterAll(async () => {
    if (npm.exitCode === null && npm.signalCode === null) {
      npm.kill('SIGTERM');
      await Promise.race([exited, pause(60_000)]);
    }
    // Whatever a failed run left behind is this stack's, by the PIDs it recorded.
    for (const name of ['api', 'worker', 'temporal', 'postgres'] as const) {
      const pid = pidOf(name);
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 90_000);

  /** The token helper without DATA_DIR in its environment: it finds the running stack's key. */
  function token(): string {
    const { DATA_DIR: _ignored, ...withoutDataDir } = process.env;
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), '--user', 'alice@example.com', '--tenant', 'acme', '--roles', 'release-manager'], {
      cwd: ROOT,
      env: { ...withoutDataDir, PORT: env.PORT },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`signed with ${path.join(dataDir, 'keys')}`);
    return result.stdout.trim();
  }

  const get = (p: string) => fetch(`${api}${p}`, { headers: auth });
  const post = (p: string, body: unknown, key?: string) =>
    fetch(`${api}${p}`, { method: 'POST', headers: { ...auth, ...(key ? { 'idempotency-key': key } : {}) }, body: JSON.stringify(body) });

  /**
   * Holds the supervisor (SIGSTOP) while `during` runs, so an outage lasts as
   * long as the test needs to observe it, not just the restart delay.
   */
  async function whileSupervisorPaused(during: () => Promise<void>): Promise<void> {
    const supervisor = runningStacks().find((s) => s.dataDir === dataDir)!.pid;
    process.kill(supervisor, 'SIGSTOP');
    try {
      await during();
    } finally {
      process.kill(supervisor, 'SIGCONT');
    }
  }

  /** The stack's output has printed a line matching `pattern` (output arrives asynchronously). */
  const logged = (pattern: RegExp) => until(`a line matching ${pattern}`, () => pattern.test(output) || undefined, 30_000);

  /** A fresh live PID for `name` other than `old`. */
  const restarted = (name: ServiceName, old: number) =>
    until(`${name} to be restarted`, () => {
      const pid = pidOf(name);
      return pid !== undefined && pid !== old && isAlive(pid) ? pid : undefined;
    }, 90_000);

  test('the banner names this DATA_DIR in its token line, and the pid files name the running processes', () => {
    expect(output).toContain(`export TOKEN=$(DATA_DIR=${dataDir} npm run -s token`);
    const postmaster = Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(pidOf('postgres')).toBe(postmaster);
    for (const name of ['api', 'worker', 'temporal'] as const) expect(isAlive(pidOf(name)!)).toBe(true);
  });

  test('kill -9 of the postmaster: 503 DATABASE_UNAVAILABLE with Retry-After while it is down, then 200 again on the same data', async () => {
    const created = await post('/prod/api/changes', { type: 'emergency', short_description: 'Before the Postgres outage' });
    expect(created.status).toBe(201);
    const change = (await created.json()) as { id: string };

    const postmaster = pidOf('postgres')!;
    const answers: Array<{ status: number; code?: string; retryAfter: string | null }> = [];
    const read = async () => {
      const res = await get('/prod/api/changes');
      const body = (await res.json()) as { error?: { code: string } };
      answers.push({ status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after') });
      return res.status;
    };
    await whileSupervisorPaused(async () => {
      process.kill(postmaster, 'SIGKILL');
      await until('Postgres to be down', async () => (await read()) === 503, 30_000, 50);
    });
    await until('a 200 after the restart', async () => (await read()) === 200, 90_000, 100);
    // Every answer without the database was a retryable 503, never a 500.
    const refusals = answers.filter((a) => a.status !== 200);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals).toEqual(refusals.map(() => ({ status: 503, code: 'DATABASE_UNAVAILABLE', retryAfter: '5' })));

    const newPid = await restarted('postgres', postmaster);
    expect(Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0])).toBe(newPid);
    // The supervisor logs the restart once its readiness check passes, which can come after the API's first 200: wait for the line.
    await logged(new RegExp(`postgres \\(pid ${postmaster}\\) exited \\(SIGKILL\\); restarting in`));
    await logged(new RegExp(`postgres restarted \\(pid ${newPid}\\)`));
    const after = await get(`/prod/api/changes/${change.id}`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { short_description: string }).short_description).toBe('Before the Postgres outage');
  });

  test('kill -9 of the Temporal server: commands answer 503 TEMPORAL_UNAVAILABLE at once, then work again with every workflow kept', async () => {
    const created = await post('/prod/api/changes', { type: 'emergency', short_description: 'Before the Temporal outage' });
    expect(created.status).toBe(201);
    const change = (await created.json()) as { id: string };

    const server = pidOf('temporal')!;
    const answers: Array<{ status: number; code?: string; retryAfter: string | null; ms: number }> = [];
    const create = async () => {
      const started = Date.now();
      const res = await post('/prod/api/changes', { type: 'emergency', short_description: 'During the Temporal outage' }, 'temporal-outage-1');
      const body = (await res.json()) as { id?: string; error?: { code: string } };
      answers.push({ status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after'), ms: Date.now() - started });
      return { status: res.status, body };
    };
    await whileSupervisorPaused(async () => {
      process.kill(server, 'SIGKILL');
      await until('Temporal to be down', async () => (await create()).status === 503, 30_000, 50);
      // Known down now: refused without waiting on gRPC retries.
      for (let i = 0; i < 3; i++) await create();
    });
    const done = await until('a keyed create to land after the restart', async () => {
      const { status, body } = await create();
      return status === 201 ? body : undefined;
    }, 90_000, 100);
    const refusals = answers.filter((a) => a.status !== 201);
    expect(refusals.length).toBeGreaterThanOrEqual(4);
    expect(refusals.map(({ status, code, retryAfter }) => ({ status, code, retryAfter }))).toEqual(refusals.map(() => ({ status: 503, code: 'TEMPORAL_UNAVAILABLE', retryAfter: '5' })));
    // Not the SDK's ~20 s of retries per request: the first within a few seconds, the rest at once.
    expect(Math.max(...refusals.map((a) => a.ms))).toBeLessThan(5_000);
    expect(Math.max(...refusals.slice(-3).map((a) => a.ms))).toBeLessThan(1_000);

    const newPid = await restarted('temporal', server);
    // The supervisor logs the restart once its readiness check passes, which can come after the API's first 200: wait for the line.
    await logged(new RegExp(`temporal \\(pid ${server}\\) exited \\(SIGKILL\\); restarting in`));
    await logged(new RegExp(`temporal restarted \\(pid ${newPid}\\)`));
    // The same key, once more, finds the change it created.
    const retried = await post('/prod/api/changes', { type: 'emergency', short_description: 'During the Temporal outage' }, 'temporal-outage-1');
    expect(((await retried.json()) as { id: string }).id).toBe(done.id);
    // The workflow started before the outage is still there and takes commands.
    const submitted = await eventually(async () => {
      const res = await post(`/prod/api/changes/${change.id}/submit`, {}, `submit-${change.id}`);
      expect(res.status).toBe(200);
      return (await res.json()) as { state: string };
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(submitted.state).toBe('scheduled');
  });

  test('SIGTERM to the npm PID stops the API and worker, then Temporal, then Postgres, and closes every port', async () => {
    const pids = Object.fromEntries((['api', 'worker', 'temporal', 'postgres'] as const).map((n) => [n, pidOf(n)!]));
    const stoppedAt: Record<string, number> = {};
    const watch = setInterval(() => {
      for (const [name, pid] of Object.entries(pids)) if (stoppedAt[name] === undefined && !isAlive(pid)) stoppedAt[name] = Date.now();
    }, 10);
    npm.kill('SIGTERM');
    try {
      await until('every service to stop', () => Object.keys(stoppedAt).length === 4, 90_000, 50);
    } finally {
      clearInterval(watch);
    }
    expect(Math.max(stoppedAt.api, stoppedAt.worker)).toBeLessThanOrEqual(stoppedAt.temporal);
    expect(stoppedAt.temporal).toBeLessThanOrEqual(stoppedAt.postgres);
    await until('npm to exit', () => npm.exitCode !== null || npm.signalCode !== null, 30_000);
    await until('stopped.', () => output.includes('stopped.'), 30_000);
    expect(output).toContain('stopping (SIGTERM)');
    for (const name of ['PORT', 'PG_PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'WORKER_METRICS_PORT']) {
      await until(`${name} to close`, async () => !(await portInUse(Number(env[name]))), 20_000);
    }
    expect(readdirSync(path.join(dataDir, 'run'))).toEqual([]);
  });
});

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

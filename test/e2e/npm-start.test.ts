import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, isAlive, portInUse } from '../../scripts/stack/processes';
import { ensureDevKeys } from '../../platform/dev-keys';
import { ROOT, spawnTs, waitForOutput, type Spawned } from '../support/processes';
import { testEnv } from '../support/env';

/**
 * What a new user does: `npm start`, get a token from the helper, create a
 * change, Ctrl-C, `npm start` again — the change and its workflow are still there;
 * and after npm start itself is killed outright, the next start cleans up after it.
 * Runs the real scripts/start.ts on free ports with its own DATA_DIR.
 */
let dataDir: string;
let env: Record<string, string>;
let stack: Spawned | undefined;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-npm-start-'));
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
    // The stack must find the same CLI the test run uses, without rebuilding it.
    PATH: `${path.dirname(testEnv.temporalCli)}:${process.env.PATH}`,
  };
});

afterAll(async () => {
  if (stack && stack.child.exitCode === null) {
    stack.child.kill('SIGINT');
    await stack.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function up(): Promise<Spawned> {
  const proc = spawnTs('scripts/start.ts', env);
  await waitForOutput(proc, /Tollgate is up/, 180_000);
  return proc;
}

async function down(proc: Spawned): Promise<void> {
  proc.child.kill('SIGINT');
  expect(await proc.exited).toBe(0);
  expect(proc.output()).toContain('stopped.');
  for (const name of ['PORT', 'PG_PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT']) expect({ [name]: await portInUse(Number(env[name])) }).toEqual({ [name]: false });
}

const TOKEN_ARGS = ['--user', 'alice@example.com', '--tenant', 'acme', '--roles', 'release-manager'];
const execFileAsync = promisify(execFile);

function runToken(extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), ...TOKEN_ARGS], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...extraEnv },
    encoding: 'utf8',
  });
}

/**
 * The helper run without blocking the event loop: a spawnSync of several seconds
 * stops this process from noticing that the server closed an idle keep-alive
 * connection, and the next fetch would go out on that dead socket.
 */
async function token(extraEnv: Record<string, string> = {}): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), ...TOKEN_ARGS], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...extraEnv },
    encoding: 'utf8',
  });
  return stdout.trim();
}

test('two starts on the same DATA_DIR keep rows and workflows; Ctrl-C stops everything it started', async () => {
  stack = await up();
  const api = `http://127.0.0.1:${env.PORT}`;
  expect(stack.output()).toContain(`Temporal UI  http://127.0.0.1:${env.TEMPORAL_UI_PORT}`);
  const health: any = await (await fetch(`${api}/api/v1/health`)).json();
  expect(health.data.checks).toMatchObject({ postgres: { status: 'up' }, temporal: { status: 'up' } });
  expect((await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`)).status).toBe(200);
  // The web console, from the same API.
  const consoleScript = await fetch(`${api}/console/app.js`);
  expect([(await fetch(`${api}/console`)).status, consoleScript.status, consoleScript.headers.get('content-type')]).toEqual([200, 200, 'text/javascript; charset=utf-8']);
  // npm start built the processes and the workflow bundle once; its API and worker run that JavaScript.
  for (const file of ['api.js', 'worker.js', 'workflow-bundle.js']) expect(existsSync(path.join(ROOT, 'dist', file))).toBe(true);
  for (const service of ['api', 'worker']) {
    const pid = readFileSync(path.join(dataDir, 'run', `${service}.pid`), 'utf8').trim();
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(path.join(ROOT, 'dist', `${service}.js`));
  }

  const auth = { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' };
  const created: any = await (
    await fetch(`${api}/prod/api/changes`, { method: 'POST', headers: auth, body: JSON.stringify({ type: 'emergency', short_description: 'Survives a restart' }) })
  ).json();
  expect(created.state).toBe('draft');
  await down(stack);

  stack = await up();
  expect(stack.output()).toContain('Database schema is up to date');
  const after: any = await (await fetch(`${api}/prod/api/changes/${created.id}`, { headers: auth })).json();
  expect(after).toEqual(created);
  // The workflow survived too: it still takes commands.
  const submitted = await fetch(`${api}/prod/api/changes/${created.id}/submit`, { method: 'POST', headers: auth });
  expect(submitted.status).toBe(200);
  expect(((await submitted.json()) as any).state).toBe('scheduled');

  // A token minted for another DATA_DIR's key is refused, and the refusal says so.
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'tollgate-other-keys-'));
  try {
    await ensureDevKeys(elsewhere);
    const foreign = await fetch(`${api}/prod/api/changes`, { headers: { authorization: `Bearer ${await token({ DATA_DIR: elsewhere })}` } });
    expect(foreign.status).toBe(401);
    expect(((await foreign.json()) as any).error.message).toMatch(/unknown key.*another DATA_DIR/);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }

  // npm start killed outright leaves its services running; the next start on this DATA_DIR stops them first.
  const orphans = ['api', 'worker', 'temporal', 'postgres'].map((name) => Number(readFileSync(path.join(dataDir, 'run', `${name}.pid`), 'utf8')));
  stack.child.kill('SIGKILL');
  await stack.exited;
  stack = await up();
  expect(stack.output()).toMatch(/Stopping the api \(pid \d+\) an earlier npm start on this DATA_DIR left running/);
  for (const pid of orphans) expect(isAlive(pid)).toBe(false);
  expect((await fetch(`${api}/prod/api/changes/${created.id}`, { headers: auth })).status).toBe(200);
  await down(stack);
  stack = undefined;
}, 360_000);

test('the token helper never makes a key the stack would not trust: without one it refuses, naming where it looked', () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'tollgate-no-keys-'));
  try {
    const result = runToken({ DATA_DIR: empty });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`No dev signing key in ${empty}/keys`);
    expect(existsSync(path.join(empty, 'keys'))).toBe(false);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

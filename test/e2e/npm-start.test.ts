import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, portInUse } from '../../scripts/stack/processes';
import { ROOT, spawnTs, waitForOutput, type Spawned } from '../support/processes';
import { testEnv } from '../support/env';

/**
 * What a new user does: `npm start`, get a token from the helper, create a
 * change, Ctrl-C, `npm start` again — the change and its workflow are still there.
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

function token(): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), '--user', 'alice@example.com', '--tenant', 'acme', '--roles', 'release-manager'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  return result.stdout.trim();
}

test('two starts on the same DATA_DIR keep rows and workflows; Ctrl-C stops everything it started', async () => {
  stack = await up();
  const api = `http://127.0.0.1:${env.PORT}`;
  expect(stack.output()).toContain(`Temporal UI  http://127.0.0.1:${env.TEMPORAL_UI_PORT}`);
  const health: any = await (await fetch(`${api}/api/v1/health`)).json();
  expect(health.data.checks).toMatchObject({ postgres: { status: 'up' }, temporal: { status: 'up' } });
  expect((await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`)).status).toBe(200);

  const auth = { authorization: `Bearer ${token()}`, 'content-type': 'application/json' };
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
  await down(stack);
  stack = undefined;
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDist } from '../../scripts/build';
import { startApiReplica } from '../support/api-process';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, step } from '../support/changes';
import { until } from '../support/eventually';
import { testEnv } from '../support/env';
import { ROOT, spawnNode, waitForOutput, type Spawned } from '../support/processes';

/**
 * What the image runs: `npm run build` output started with plain node in an
 * image-like folder (dist/ beside db/migrations, node_modules, package.json,
 * and no TypeScript sources), the worker loading the prebuilt workflow bundle,
 * so a worker killed with SIGKILL comes back without bundling anything.
 */
const taskQueue = `e2e-compiled-${randomUUID()}`;
let app: TestApp;
let appRoot: string;
let worker: Spawned | undefined;
let api: Spawned | undefined;
let apiUrl: string;

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

function startWorker(): Spawned {
  return spawnNode(['--enable-source-maps', path.join(appRoot, 'dist/worker.js')], {
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKER_METRICS_PORT: '0',
    DATA_DIR: testEnv.dataDir,
    AUTH_JWKS: '{"keys":[]}',
    WORKFLOW_BUNDLE: path.join(appRoot, 'dist/workflow-bundle.js'),
    LOG_LEVEL: 'info',
  });
}

/** A poller on the task queue seen after `since`: the worker is taking tasks. */
const pollingSince = (since: number) =>
  until('the worker to poll its task queue', async () => (await app.deps.temporal.pollers(taskQueue)).some((p) => (p.lastAccessAt ?? 0) >= since), 60_000);

beforeAll(async () => {
  appRoot = mkdtempSync(path.join(os.tmpdir(), 'tollgate-image-'));
  for (const entry of ['node_modules', 'package.json', 'db']) symlinkSync(path.join(ROOT, entry), path.join(appRoot, entry));
  await buildDist(path.join(appRoot, 'dist'), quiet);
  app = await startTestApp({ worker: false, env: { TEMPORAL_TASK_QUEUE: taskQueue } });
  const startedAt = Date.now();
  worker = startWorker();
  await waitForOutput(worker, /orchestrator worker running/, 90_000);
  await pollingSince(startedAt);
  ({ proc: api, url: apiUrl } = await startApiReplica(app, ['--enable-source-maps', path.join(appRoot, 'dist/api.js')]));
}, 180_000);
afterAll(async () => {
  for (const p of [api, worker]) {
    p?.child.kill('SIGTERM');
    await p?.exited;
  }
  await app?.close();
  if (appRoot) rmSync(appRoot, { recursive: true, force: true });
});

test('the compiled worker loads the prebuilt bundle instead of bundling the workflows', () => {
  expect(worker!.output()).toContain('loading the prebuilt workflow bundle');
  expect(worker!.output()).not.toContain('bundled the workflows from source');
});

test('the compiled API serves: health is up (the compiled worker polls) and a token reads changes', async () => {
  const health = await until('health to answer 200', async () => {
    const res = await fetch(`${apiUrl}/api/v1/health`);
    return res.status === 200 ? ((await res.json()) as any) : undefined;
  }, 60_000);
  expect(health.data.checks.worker).toMatchObject({ status: 'up', taskQueue });
  const token = await app.token('reader@example.com');
  const res = await fetch(`${apiUrl}/prod/api/changes?limit=1`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-ratelimit-limit')).not.toBeNull();
});

test('the compiled API serves the web console that npm run build wrote to dist/console (the image has no console sources)', async () => {
  const page = await fetch(`${apiUrl}/console`);
  expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(await page.text()).toContain('src="/console/app.js"');
  const script = await fetch(`${apiUrl}/console/app.js`);
  expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
  expect(await script.text()).toContain('dashboard/stream');
});

test('a compiled worker killed with SIGKILL is started again, loads the bundle, polls and carries the change on', async () => {
  const requester = await app.token('alice@example.com', { roles: ['engineer'] });
  const { id } = await createChange(app, requester, auroraChange());
  expect((await step(app, requester, 'POST', `${id}/submit`)).state).toBe('submitted');

  worker!.child.kill('SIGKILL');
  expect(await worker!.exited).toBeNull();
  const restartedAt = Date.now();
  worker = startWorker();
  await waitForOutput(worker, /orchestrator worker running/, 60_000);
  expect(worker.output()).toContain('loading the prebuilt workflow bundle');
  await pollingSince(restartedAt);
  // A command the restarted worker must run: the change moves on.
  const submitted = await step(app, requester, 'POST', `${id}/submit-cab`, {});
  expect(submitted.state).toBe('cab_review');
});

import { randomUUID } from 'node:crypto';
import { freePort } from '../../scripts/stack/processes';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, step } from '../support/changes';
import { until } from '../support/eventually';
import { spawnTs, waitForOutput, type Spawned } from '../support/processes';
import { testEnv } from '../support/env';

/** The orchestrator worker is a separate process; SIGKILL it mid-lifecycle and nothing is lost. */
let app: TestApp;
let worker: Spawned | undefined;
const taskQueue = `e2e-worker-${randomUUID()}`;

let metricsPort = 0;

async function startWorker(): Promise<Spawned> {
  metricsPort = await freePort();
  const proc = spawnTs('worker/orchestrator.ts', {
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKER_METRICS_PORT: String(metricsPort),
    DATA_DIR: testEnv.dataDir,
    AUTH_JWKS: '{"keys":[]}',
    LOG_LEVEL: 'info',
  });
  await waitForOutput(proc, /orchestrator worker running/, 90_000);
  return proc;
}

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { TEMPORAL_TASK_QUEUE: taskQueue } });
  worker = await startWorker();
});
afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await app.close();
});

test('a worker killed with SIGKILL mid-lifecycle is replaced and the change carries on, every approval counted once', async () => {
  const requester = await app.token('alice@example.com', { roles: ['engineer'] });
  const approver = await app.token('bob@example.com', { roles: ['cab-member'] });
  const { id } = await createChange(app, requester, auroraChange({ cab_approvers: ['bob@example.com'] }));
  await step(app, requester, 'POST', `${id}/submit`);
  await step(app, requester, 'POST', `${id}/submit-cab`, {});

  worker!.child.kill('SIGKILL');
  expect(await worker!.exited).toBeNull();

  // The approval is sent while no worker runs: the API waits on the update, which a new worker completes.
  // The update has reached Temporal once the workflow has a task waiting for a worker (it has none before).
  const handle = app.client.workflow.getHandle(`${app.tenant}:change:${id}`);
  expect((await handle.describe()).raw.pendingWorkflowTask).toBeFalsy();
  const approve = () => app.http('POST', `/prod/api/changes/${id}/approve`, { token: approver, body: { comment: 'approved during the outage' }, headers: { 'idempotency-key': `kill-${id}` } });
  const approval = approve();
  await until('the approval to wait on a workflow task', async () => (await handle.describe()).raw.pendingWorkflowTask, 15_000);
  worker = await startWorker();
  // A worker that takes longer than COMMAND_TIMEOUT to come back (it bundles the workflows first; slow on a loaded
  // machine) gets the approval a retryable 503; a client then retries with the same key, and it still counts once.
  let answered = await approval;
  if (answered.status === 503) {
    answered = await until('the retried approval to land', async () => {
      const res = await approve();
      return res.status === 503 ? undefined : res;
    }, 90_000);
  }
  expect(answered.status).toBe(200);
  expect(answered.body.state).toBe('scheduled');

  await step(app, requester, 'PATCH', id, { state: 'in_progress' });
  await step(app, requester, 'PATCH', id, { state: 'completed' });
  const closed = await step(app, requester, 'PATCH', id, { state: 'closed' });
  expect(closed.state).toBe('closed');
  expect(closed.approvals).toHaveLength(1);
  const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [app.tenant, id]);
  // The window was already open at submit, so its timer fired then too.
  expect(rows.map((r) => r.action)).toEqual([
    'change.create', 'change.submit', 'change.window_opened', 'change.submit_cab', 'change.approve', 'change.schedule', 'change.start', 'change.complete', 'change.close',
  ]);
});

test("the worker exposes the Temporal SDK's runtime metrics for Prometheus", async () => {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toMatch(new RegExp(`temporal_worker_start_total\\{[^}]*task_queue="${taskQueue}"`));
  expect(text).toMatch(/temporal_workflow_completed_total\{[^}]*workflow_type="changeLifecycle"/);
});

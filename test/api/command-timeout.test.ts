import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, step } from '../support/changes';
import { until } from '../support/eventually';

/** With no worker to run it, a command answers 503 after COMMAND_TIMEOUT; retried with its key once a worker is back, it lands once. */
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { COMMAND_TIMEOUT: '2s' } });
});
afterAll(() => app.close());

test('create and patch time out cleanly, then complete on retry with the same Idempotency-Key', async () => {
  const token = await app.token('alice@example.com');
  const headers = { 'idempotency-key': 'create-while-down' };
  const body = auroraChange();
  const started = Date.now();
  const first = await app.http('POST', '/api/v1/changes', { token, body, headers });
  expect(first.status).toBe(503);
  expect(first.body.error.code).toBe('WORKFLOW_TIMEOUT');
  expect(first.headers.get('retry-after')).toBeTruthy();
  expect(Date.now() - started).toBeLessThan(10_000);

  await app.startWorker();
  // A client retries on 503 as told: under load the fresh worker may need longer than COMMAND_TIMEOUT to take the task.
  const retried = await until('the create to land', async () => {
    const res = await app.http('POST', '/api/v1/changes', { token, body, headers });
    return res.status === 503 ? undefined : res;
  });
  expect(retried.status).toBe(201);
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1', [app.tenant]);
  expect(rows[0].n).toBe(1);

  const id = retried.body.data.id;
  await step(app, token, 'POST', `${id}/submit`);
  await app.stopWorker();
  const patch = await app.http('PATCH', `/prod/api/changes/${id}`, { token, body: { assigned_to: 'dba@example.com' }, headers: { 'idempotency-key': 'assign-1' } });
  expect(patch.status).toBe(503);
  await app.startWorker();
  // The pending task waits out the old worker's sticky queue (~5 s), so a client retries on 503 as told.
  const again = await until('the patch to land', async () => {
    const res = await app.http('PATCH', `/prod/api/changes/${id}`, { token, body: { assigned_to: 'dba@example.com' }, headers: { 'idempotency-key': 'assign-1' } });
    return res.status === 503 ? undefined : res;
  });
  expect(again.status).toBe(200);
  expect(again.body.assigned_to).toBe('dba@example.com');
  const updates = await app.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'change.update'`, [app.tenant, id]);
  expect(updates.rows[0].n).toBe(1);
});

import { randomUUID } from 'node:crypto';
import { workflowId } from '../../domain/workflow-ids';
import { createLogger } from '../../platform/logger';
import { sweepOnce } from '../../worker/ended-workflow-sweep';
import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';

/**
 * A template run whose workflow was terminated from outside Tollgate (the
 * Temporal UI, here its client): the orchestrator's sweep marks its row failed
 * with how, by whom and when, its unfinished nodes cancelled, once; commands
 * then answer 409 WORKFLOW_ENDED_OUTSIDE as every module's do.
 */
let app: TestApp;
let manager: string;

beforeAll(async () => {
  app = await startTestApp();
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
}, 240_000);
afterAll(() => app?.close());

const call = (method: string, path: string, body?: unknown) => app.http(method, `/api/v1${path}`, { token: manager, body });

async function runWaitingAnHour(): Promise<string> {
  const template = await call('POST', '/workflow-templates', {
    name: `soak ${randomUUID().slice(0, 8)}`,
    nodes: [
      { id: 'soak', type: 'wait', inputs: { duration: '1h' } },
      { id: 'ship', type: 'wait', dependsOn: ['soak'], inputs: { duration: '1s' } },
    ],
  });
  const run = (await call('POST', '/workflow-runs', { templateId: template.body.data.id, parameters: {} })).body.data;
  await until('the soak node to run', async () => (await call('GET', `/workflow-runs/${run.id}/steps/soak`)).body.data.status === 'running', 30_000);
  return run.id;
}

test('the sweep marks a terminated run failed with its reason, its unfinished nodes cancelled; commands answer 409 WORKFLOW_ENDED_OUTSIDE', async () => {
  const runId = await runWaitingAnHour();
  await app.client.workflow.getHandle(workflowId(app.tenant, 'template-run', runId)).terminate('host drained');
  const deps = { pool: app.pool, config: app.config, log: createLogger('test', 'silent'), client: app.client };
  // Visibility lags a little behind the close: sweep until the run shows up in it.
  const run = await eventually(async () => {
    await sweepOnce(app.client, deps, app.config.TEMPORAL_TASK_QUEUE, undefined);
    const body = (await call('GET', `/workflow-runs/${runId}`)).body.data;
    expect(body).toMatchObject({ status: 'failed', statusReason: expect.stringMatching(/workflow terminated outside Tollgate by .* at .*: host drained/) });
    return body;
  }, { timeoutMs: 60_000 });
  expect(run.endedAt).toEqual(expect.any(String));
  expect(run.nodes.map((n: any) => [n.nodeId, n.status])).toEqual([
    ['soak', 'cancelled'],
    ['ship', 'cancelled'],
  ]);
  expect(run.nodes[0].reason).toContain('host drained');
  expect((await call('GET', `/workflow-runs?status=failed`)).body.data.map((r: any) => r.id)).toContain(runId);

  const pause = await call('POST', `/workflow-runs/${runId}/pause`, { reason: 'hold on' });
  expect(pause.status).toBe(409);
  expect(pause.body.error).toMatchObject({
    code: 'WORKFLOW_ENDED_OUTSIDE',
    message: expect.stringContaining('start a new run of the template'),
    details: { currentState: 'failed', previousState: 'running', workflow: { how: 'terminated', reason: 'host drained' }, reconcile: null },
  });
  // One mark, whoever found it first (the sweep again, the command): the version guard and the audit key hold it to one.
  await sweepOnce(app.client, deps, app.config.TEMPORAL_TASK_QUEUE, undefined);
  expect((await call('GET', `/workflow-runs/${runId}`)).body.data.version).toBe(run.version);
  const { rows } = await app.pool.query("SELECT actor FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'workflow-run.workflow_ended_outside'", [app.tenant, runId]);
  expect(rows).toHaveLength(1);
});

test('a command that meets the terminated run first marks it itself', async () => {
  const runId = await runWaitingAnHour();
  await app.client.workflow.getHandle(workflowId(app.tenant, 'template-run', runId)).terminate('cleaning up');
  const cancel = await call('POST', `/workflow-runs/${runId}/cancel`, { reason: 'stop' });
  expect([cancel.status, cancel.body.error.code]).toEqual([409, 'WORKFLOW_ENDED_OUTSIDE']);
  expect((await call('GET', `/workflow-runs/${runId}`)).body.data).toMatchObject({ status: 'failed', statusReason: expect.stringContaining('cleaning up') });
});

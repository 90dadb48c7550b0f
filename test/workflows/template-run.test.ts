import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { CommandMeta } from '../../domain/actor';
import type { TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { workflowId } from '../../domain/workflow-ids';
import { getRun, searchAttributesOf, TEMPLATE_RUN_WORKFLOW_TYPE, type TemplateRunInput } from '../../workflows/template-runs/messages';
import type { templateRun } from '../../workflows/template-runs/template-run';
import { eventually } from '../support/eventually';
import { startStepServer, type StepServer } from '../support/step-server';
import { startWorkflowWorker, type WorkflowWorker } from '../support/workflow-worker';

/**
 * The templateRun workflow driven through Temporal with the real activities
 * (Postgres) and http steps against a local server that counts what reaches it.
 */
let harness: WorkflowWorker;
let server: StepServer;
const tenantId = `wf-${randomUUID().slice(0, 8)}`;
const operator: CommandMeta = { actor: { userId: 'u-op', email: 'op@example.com', permissions: ['template-run:operate'] }, requestId: 'req-op' };

beforeAll(async () => {
  harness = await startWorkflowWorker('wf-template-run');
  server = await startStepServer();
});

afterAll(async () => {
  await server?.close();
  await harness?.close();
});

type Handle = WorkflowHandle<typeof templateRun>;

async function startRun(spec: TemplateSpec, options: { parameters?: Record<string, unknown>; taskQueue?: string; input?: Partial<TemplateRunInput> } = {}): Promise<{ handle: Handle; runId: string }> {
  const runId = randomUUID();
  const input: TemplateRunInput = {
    tenantId,
    runId,
    templateId: randomUUID(),
    templateVersion: 3,
    spec,
    parameters: options.parameters ?? {},
    requestedBy: 'u-alice',
    requestedByEmail: 'alice@example.com',
    createdAt: new Date().toISOString(),
    ...options.input,
  };
  const handle = await harness.env.client.workflow.start<typeof templateRun>(TEMPLATE_RUN_WORKFLOW_TYPE, {
    workflowId: workflowId(tenantId, 'template-run', runId),
    taskQueue: options.taskQueue ?? harness.taskQueue,
    args: [input],
    typedSearchAttributes: searchAttributesOf(tenantId, { id: runId, status: 'running', templateName: spec.name }),
    staticSummary: `${spec.name} v3`,
  });
  return { handle, runId };
}

const http = (id: string, path: string, extra: Record<string, unknown> = {}) => ({ id, type: 'http' as const, inputs: { url: `${server.url}${path}` }, ...extra });
const nodeOf = (run: WorkflowRun, id: string) => run.nodes.find((n) => n.nodeId === id)!;
const rowOf = async (runId: string) =>
  (await harness.pool.query<{ status: string; version: number; body: WorkflowRun }>('SELECT status, version, body FROM workflow_runs WHERE tenant_id = $1 AND id = $2', [tenantId, runId])).rows[0];
const key = () => randomUUID().slice(0, 8);

test('a diamond DAG passes outputs along: both branches read the root, the join reads both, and the row shows every node', async () => {
  const k = key();
  const spec: TemplateSpec = {
    name: 'diamond',
    parameters: [{ name: 'version', type: 'string' }],
    nodes: [
      http('build', `/echo/${k}-build?version=\${{ parameters.version }}`),
      http('left', `/echo/${k}-left?from=\${{ steps.build.outputs.body.query.version }}`, { dependsOn: ['build'] }),
      { ...http('right', `/echo/${k}-right`, { dependsOn: ['build'] }), inputs: { url: `${server.url}/echo/${k}-right`, method: 'POST', body: { built: '${{ steps.build.outputs.body.query.version }}' } } },
      {
        id: 'join',
        type: 'http',
        dependsOn: ['left', 'right'],
        inputs: { url: `${server.url}/echo/${k}-join`, method: 'POST', body: { left: '${{ steps.left.outputs.body.query.from }}', right: '${{ steps.right.outputs.body.body.built }}', n: '${{ steps.left.outputs.status }}' } },
      },
    ],
  };
  const { handle, runId } = await startRun(spec, { parameters: { version: '2.4.1' } });
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  expect(server.bodies.get(`${k}-join`)).toEqual([{ left: '2.4.1', right: '2.4.1', n: 200 }]);
  const row = await eventually(async () => {
    const r = await rowOf(runId);
    expect(r.status).toBe('succeeded');
    return r;
  });
  expect(row.body.nodes.map((n) => [n.nodeId, n.status, n.attempts])).toEqual([
    ['build', 'succeeded', 1],
    ['left', 'succeeded', 1],
    ['right', 'succeeded', 1],
    ['join', 'succeeded', 1],
  ]);
  expect(nodeOf(row.body, 'join').outputs).toMatchObject({ status: 200, body: { body: { left: '2.4.1', right: '2.4.1' } } });
  expect(row.body).toMatchObject({ templateName: 'diamond', templateVersion: 3, endedAt: expect.any(String) });
  const logs = await harness.pool.query<{ line: string }>('SELECT line FROM workflow_run_logs WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 ORDER BY seq', [tenantId, runId, 'join']);
  expect(logs.rows.map((r) => r.line)).toEqual([`POST ${server.url}/echo/${k}-join`, expect.stringMatching(/^200 OK in \d+ ms: /)]);
  const audit = await harness.pool.query<{ action: string }>("SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_type = 'workflow-run' AND resource_id = $2", [tenantId, runId]);
  expect(audit.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['template-run.start', 'template-run.step.running', 'template-run.step.succeeded', 'template-run.succeeded']));
  // Each activity carries its node id as its summary.
  const history = await handle.fetchHistory();
  const summaries = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTemplateStep').map((e) => e.userMetadata?.summary?.data && Buffer.from(e.userMetadata.summary.data).toString('utf8'));
  expect(summaries.map((s) => JSON.parse(s!))).toEqual(['build', 'left', 'right', 'join']);
});

test('`when` false skips a branch, and a node whose dependencies were all skipped is skipped too', async () => {
  const k = key();
  const { handle, runId } = await startRun(
    {
      name: 'when',
      nodes: [
        http('check', `/echo/${k}-check?env=prod`),
        http('canary', `/echo/${k}-canary`, { dependsOn: ['check'], when: "steps.check.outputs.body.query.env == 'staging'" }),
        http('afterCanary', `/echo/${k}-after`, { dependsOn: ['canary'] }),
        http('always', `/echo/${k}-always`, { dependsOn: ['check'], when: 'parameters.go' }),
      ],
    },
    { parameters: { go: true } },
  );
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  const run = (await handle.query(getRun))!;
  expect(nodeOf(run, 'canary')).toMatchObject({ status: 'skipped', reason: "when `steps.check.outputs.body.query.env == 'staging'` is false" });
  expect(nodeOf(run, 'afterCanary')).toMatchObject({ status: 'skipped', reason: 'every dependency was skipped or cancelled (canary)' });
  expect(nodeOf(run, 'always').status).toBe('succeeded');
  expect(server.calls.get(`${k}-canary`)).toBeUndefined();
  expect(server.calls.get(`${k}-after`)).toBeUndefined();
});

test('a failing try is retried after the backoff, then succeeds', async () => {
  const k = key();
  const { handle, runId } = await startRun({ name: 'retry', nodes: [http('flaky', `/flaky/${k}?fail=2`, { retry: { attempts: 3, backoff: '200ms' } })] });
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  expect(server.calls.get(k)).toBe(3);
  expect(nodeOf((await handle.query(getRun))!, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 3, outputs: { status: 200 } });
  const history = await handle.fetchHistory();
  const timers = history.events!.filter((e) => e.timerStartedEventAttributes).map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString('utf8')));
  expect(timers).toEqual(['flaky: wait before try 2 of 3', 'flaky: wait before try 3 of 3']);
});

test('continueOnError: the failure is recorded, dependants still run and the run succeeds; without it the run fails and the rest is cancelled', async () => {
  const k = key();
  const tolerant = await startRun({
    name: 'tolerant',
    nodes: [http('smoke', `/fail/${k}-a`, { continueOnError: true }), http('next', `/echo/${k}-next`, { dependsOn: ['smoke'] })],
  });
  expect(await tolerant.handle.result()).toEqual({ id: tolerant.runId, status: 'succeeded' });
  const run = (await tolerant.handle.query(getRun))!;
  expect(nodeOf(run, 'smoke')).toMatchObject({ status: 'failed', error: { code: 'HTTP_STATUS_UNEXPECTED', message: expect.stringContaining('answered 500, expected a 2xx status') } });
  expect(nodeOf(run, 'next').status).toBe('succeeded');

  const strict = await startRun({
    name: 'strict',
    nodes: [http('smoke', `/fail/${k}-b`), http('next', `/echo/${k}-never`, { dependsOn: ['smoke'] })],
    finally: [http('cleanup', `/echo/${k}-cleanup`)],
  });
  expect(await strict.handle.result()).toEqual({ id: strict.runId, status: 'failed' });
  const failed = (await strict.handle.query(getRun))!;
  expect(nodeOf(failed, 'next')).toMatchObject({ status: 'cancelled', reason: 'the run failed before it started' });
  expect(nodeOf(failed, 'cleanup').status).toBe('succeeded');
  expect(server.calls.get(`${k}-never`)).toBeUndefined();
});

test('forEach over 50 items with concurrency 5: never more than 5 at once, outputs collected in order', async () => {
  const k = key();
  const { handle, runId } = await startRun(
    {
      name: 'fan-out',
      nodes: [{ id: 'each', type: 'http', forEach: { items: 'parameters.regions', concurrency: 5 }, inputs: { url: `${server.url}/slow/${k}?ms=150&item=\${{ item }}` } }],
    },
    { parameters: { regions: Array.from({ length: 50 }, (_, i) => `r${i}`) } },
  );
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  expect(server.calls.get(k)).toBe(50);
  expect(server.peak.get(k)).toBe(5);
  const each = nodeOf((await handle.query(getRun))!, 'each');
  expect(each.items).toEqual({ total: 50, succeeded: 50, failed: 0, running: 0, skipped: 0 });
  const items = (each.outputs as { items: Array<{ body: { item: string } }> }).items;
  expect(items.map((i) => i.body.item)).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
});

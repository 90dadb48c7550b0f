import { randomUUID } from 'node:crypto';
import type { CommandMeta } from '../../domain/actor';
import type { TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { workflowId } from '../../domain/workflow-ids';
import { cancelRun, decideStep, getRun, pauseRun, resumeRun, searchAttributesOf, TEMPLATE_RUN_WORKFLOW_TYPE, type TemplateRunInput } from '../../workflows/template-runs/messages';
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

async function startRun(spec: TemplateSpec, options: { parameters?: Record<string, unknown>; taskQueue?: string; input?: Partial<TemplateRunInput> } = {}) {
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

test('a try longer than the node timeout is cut short (the request aborted) and counts as a failed try', async () => {
  const k = key();
  const { handle, runId } = await startRun({ name: 'timeout', nodes: [http('stuck', `/hang/${k}`, { timeout: '1s', retry: { attempts: 2, backoff: '100ms' } })] });
  expect(await handle.result()).toEqual({ id: runId, status: 'failed' });
  expect(nodeOf((await handle.query(getRun))!, 'stuck')).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'STEP_TIMED_OUT', message: 'the try took longer than its timeout of 1s' } });
  await eventually(() => expect(server.aborted.get(k)).toBe(2));
});

test('pause lets the running node finish and starts nothing new; a second pause is refused; resume goes on', async () => {
  const k = key();
  const { handle, runId } = await startRun({ name: 'pause', nodes: [http('first', `/slow/${k}-first?ms=1500`), http('second', `/echo/${k}-second`, { dependsOn: ['first'] })] });
  await eventually(async () => expect(nodeOf((await handle.query(getRun))!, 'first').status).toBe('running'));
  const paused = await handle.executeUpdate(pauseRun, { args: [{ reason: 'look first' }, operator] });
  expect(paused.status).toBe('paused');
  const again = await handle.executeUpdate(pauseRun, { args: [{}, operator] }).catch((e: unknown) => e);
  expect(refusal(again)).toEqual({ type: 'RUN_ALREADY_PAUSED', kind: 'invalid_state' });
  // The workflow task that records the first node's end is the one that would start the second.
  const held = await eventually(async () => {
    const run = (await handle.query(getRun))!;
    expect(nodeOf(run, 'first').status).toBe('succeeded');
    return run;
  });
  expect(held.status).toBe('paused');
  expect(nodeOf(held, 'second').status).toBe('pending');
  expect(server.calls.get(`${k}-second`)).toBeUndefined();
  await eventually(async () => expect((await rowOf(runId)).body).toMatchObject({ status: 'paused', nodes: [{ status: 'succeeded' }, { status: 'pending' }] }));
  // The answer is the run once the resume is stored: still running, or already done when its last node ended first (a loaded host).
  expect(['running', 'succeeded']).toContain((await handle.executeUpdate(resumeRun, { args: [{}, operator] })).status);
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  const audit = await harness.pool.query<{ action: string; actor: string; request_id: string | null }>(
    "SELECT action, actor, request_id FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action IN ('template-run.pause', 'template-run.resume') ORDER BY occurred_at",
    [tenantId, runId],
  );
  expect(audit.rows).toEqual([
    { action: 'template-run.pause', actor: 'op@example.com', request_id: 'req-op' },
    { action: 'template-run.resume', actor: 'op@example.com', request_id: 'req-op' },
  ]);
});

test('cancel cancels the running node (its request aborted) and the pending ones, then runs onCancel and finally nodes', async () => {
  const k = key();
  const { handle, runId } = await startRun({
    name: 'cancel',
    nodes: [http('deploy', `/hang/${k}`), http('verify', `/echo/${k}-verify`, { dependsOn: ['deploy'] })],
    onCancel: [http('rollback', `/echo/${k}-rollback?from=\${{ steps.deploy.status }}`)],
    finally: [http('report', `/echo/${k}-report`, { dependsOn: [] })],
  });
  await eventually(async () => expect(server.calls.get(k)).toBe(1));
  const cancelling = await handle.executeUpdate(cancelRun, { args: [{ reason: 'wrong build' }, operator] });
  expect(cancelling.status).toBe('cancelling');
  expect(await handle.result()).toEqual({ id: runId, status: 'cancelled' });
  expect(server.aborted.get(k)).toBe(1);
  const run = (await handle.query(getRun))!;
  expect(run.nodes.map((n) => [n.nodeId, n.phase, n.status])).toEqual([
    ['deploy', 'main', 'cancelled'],
    ['verify', 'main', 'cancelled'],
    ['rollback', 'onCancel', 'succeeded'],
    ['report', 'finally', 'succeeded'],
  ]);
  expect(server.bodies.get(`${k}-rollback`)).toHaveLength(1);
  expect(nodeOf(run, 'rollback').outputs).toMatchObject({ body: { query: { from: 'cancelled' } } });
  await eventually(async () => expect((await rowOf(runId)).status).toBe('cancelled'));
  const again = await harness.env.client.workflow.getHandle(handle.workflowId).executeUpdate(cancelRun, { args: [{}, operator] }).catch((e: unknown) => e);
  expect(again).toBeInstanceOf(Error);
});

test('a worker stopped mid-run: a new worker goes on without running the finished nodes again', async () => {
  const k = key();
  const queue = `wf-template-run-restart-${randomUUID()}`;
  const first = await harness.extraWorker(queue);
  const { handle, runId } = await startRun(
    { name: 'restart', nodes: [http('before', `/echo/${k}-before`), { id: 'soak', type: 'wait', dependsOn: ['before'], inputs: { duration: '3s' } }, http('after', `/echo/${k}-after`, { dependsOn: ['soak'] })] },
    { taskQueue: queue },
  );
  await eventually(async () => expect(nodeOf((await handle.query(getRun))!, 'soak').status).toBe('running'));
  await first.stop();
  const second = await harness.extraWorker(queue);
  try {
    expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  } finally {
    await second.stop();
  }
  expect(server.calls.get(`${k}-before`)).toBe(1);
  expect(server.calls.get(`${k}-after`)).toBe(1);
  const run = (await handle.query(getRun).catch(() => null)) ?? (await rowOf(runId)).body;
  expect(run.nodes.map((n) => [n.nodeId, n.status, n.attempts])).toEqual([
    ['before', 'succeeded', 1],
    ['soak', 'succeeded', 1],
    ['after', 'succeeded', 1],
  ]);
});

test('an approval step: the requester and non-members are refused, one vote per person, enough approvals pass it', async () => {
  const spec: TemplateSpec = {
    name: 'approval',
    nodes: [{ id: 'signoff', type: 'approval', inputs: { approvals: 2, groups: ['release-managers'] } }, { id: 'after', type: 'wait', dependsOn: ['signoff'], inputs: { duration: '1ms' } }],
  };
  const { handle, runId } = await startRun(spec);
  await eventually(async () => expect(nodeOf((await handle.query(getRun))!, 'signoff').reason).toBe('2 more approvals from release-managers'));
  const member = (userId: string, email: string): CommandMeta => ({ actor: { userId, email, permissions: [], groups: ['release-managers'] } });
  const decide = (meta: CommandMeta, decision: 'approved' | 'rejected' = 'approved') => handle.executeUpdate(decideStep, { args: [{ nodeId: 'signoff', decision }, meta] }).catch((e: unknown) => e);
  expect(refusal(await decide(member('u-alice-2', 'ALICE@example.com')))).toEqual({ type: 'SOD_VIOLATION', kind: 'forbidden' });
  expect(refusal(await decide({ actor: { userId: 'u-carol', email: 'carol@example.com', permissions: ['template-run:operate'], groups: ['developers'] } }))).toEqual({ type: 'NOT_AN_APPROVER', kind: 'forbidden' });
  const once = (await decide(member('u-bob', 'bob@example.com'))) as WorkflowRun;
  expect(nodeOf(once, 'signoff')).toMatchObject({ status: 'running', approvals: [{ approverId: 'u-bob', decision: 'approved' }], reason: '1 more approval from release-managers' });
  expect(refusal(await decide(member('u-bob-laptop', 'bob@example.com')))).toEqual({ type: 'ALREADY_DECIDED', kind: 'invalid_state' });
  expect(refusal(await handle.executeUpdate(decideStep, { args: [{ nodeId: 'after', decision: 'approved' }, member('u-dave', 'dave@example.com')] }).catch((e: unknown) => e))).toEqual({
    type: 'NOT_AN_APPROVAL_STEP',
    kind: 'rule',
  });
  await decide(member('u-dave', 'dave@example.com'));
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  expect(nodeOf((await handle.query(getRun))!, 'signoff').outputs).toEqual({ approvedBy: ['bob@example.com', 'dave@example.com'] });

  const rejected = await startRun({ name: 'approval', nodes: [{ id: 'signoff', type: 'approval', inputs: { groups: ['release-managers'] } }] });
  await eventually(async () => expect(nodeOf((await rejected.handle.query(getRun))!, 'signoff').reason).toBeTruthy());
  await rejected.handle.executeUpdate(decideStep, { args: [{ nodeId: 'signoff', decision: 'rejected', comment: 'not today' }, member('u-bob', 'bob@example.com')] });
  expect(await rejected.handle.result()).toEqual({ id: rejected.runId, status: 'failed' });
  expect(nodeOf((await rejected.handle.query(getRun))!, 'signoff').error).toEqual({ code: 'APPROVAL_REJECTED', message: 'Rejected by bob@example.com: not today' });

  const expired = await startRun({ name: 'approval', nodes: [{ id: 'signoff', type: 'approval', inputs: { groups: ['release-managers'], expiresIn: '1s' } }] });
  expect(await expired.handle.result()).toEqual({ id: expired.runId, status: 'failed' });
  expect(nodeOf((await expired.handle.query(getRun))!, 'signoff').error).toMatchObject({ code: 'APPROVAL_EXPIRED' });
});

test('a fan-out of 1,000 items continues as new when the history grows: every item runs once, a wait running meanwhile is carried', async () => {
  const k = key();
  const { handle, runId } = await startRun(
    {
      name: 'wide',
      nodes: [
        { id: 'each', type: 'http', forEach: { items: 'parameters.items', concurrency: 10 }, inputs: { url: `${server.url}/echo/${k}?i=\${{ index }}` } },
        { id: 'soak', type: 'wait', inputs: { duration: '4s' } },
        { id: 'done', type: 'http', dependsOn: ['each', 'soak'], inputs: { url: `${server.url}/echo/${k}-done?n=\${{ size(steps.each.outputs.items) }}` } },
      ],
    },
    { parameters: { items: Array.from({ length: 1000 }, (_, i) => i) }, input: { maxHistoryEvents: 1500 } },
  );
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  expect(server.calls.get(k)).toBe(1000);
  expect(server.bodies.get(`${k}-done`)).toHaveLength(1);
  const run = (await handle.query(getRun))!;
  expect(nodeOf(run, 'each').items).toEqual({ total: 1000, succeeded: 1000, failed: 0, running: 0, skipped: 0 });
  const outputs = (nodeOf(run, 'each').outputs as { items: Array<{ body: { query: { i: string } } }> }).items;
  expect(outputs.map((o) => Number(o.body.query.i))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  expect(nodeOf(run, 'done').outputs).toMatchObject({ body: { query: { n: '1000' } } });
  const first = await harness.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
  expect(first.status.name).toBe('CONTINUED_AS_NEW');
}, 400_000);

/** What the workflow's refusal says: its code and the kind the API maps to a status. */
function refusal(error: unknown): { type: string | undefined; kind: string } {
  const cause = (error as { cause?: { type?: string; details?: Array<{ kind: string }> } }).cause;
  return { type: cause?.type, kind: cause?.details?.[0]?.kind ?? 'none' };
}

test("a remote answer carrying NUL and a lone surrogate is kept cleaned (U+FFFD) in the run's row, and the run ends", async () => {
  const k = key();
  const spec: TemplateSpec = { name: 'unstorable answer', nodes: [http('fetch', `/echo/${k}-fetch?nul=a%00b&half=%ED%A0%80`)] };
  const { handle, runId } = await startRun(spec);
  expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
  const row = await eventually(async () => {
    const r = await rowOf(runId);
    expect(r.status).toBe('succeeded');
    return r;
  });
  expect(JSON.stringify(nodeOf(row.body, 'fetch').outputs)).not.toMatch(/\\u0000/);
  expect(nodeOf(row.body, 'fetch').outputs).toMatchObject({ body: { query: { nul: 'a\ufffdb' } } });
});

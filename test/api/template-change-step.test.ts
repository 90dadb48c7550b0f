import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
// The app first: it extends zod for OpenAPI before the changes module's schemas are built.
import { startTestApp, type TestApp } from '../support/app';
import { changeRequestStep } from '../../activities/template-runs/steps/change-request';
import { lazyStepClient, type StepTask } from '../../activities/template-runs/steps/step-client';
import type { StepRequest } from '../../domain/templates/model';
import { createLogger } from '../../platform/logger';
import { HOUR, iso, MIN } from '../support/changes';
import { until } from '../support/eventually';

/**
 * The `change-request` step against the real stack: a run started through the
 * API opens a normal change, submits it and sends it to CAB; the CAB's approval
 * through the changes API lets the node succeed with the change's id, state and
 * risk, a rejection fails it. The step's code run twice for one node (a retried
 * activity) opens one change.
 */
let app: TestApp;
let requester: string;
let cab: string;
let viewer: string;
let deps: Parameters<typeof changeRequestStep>[0];

beforeAll(async () => {
  app = await startTestApp();
  requester = await app.token('rita@example.com', { roles: ['release-manager'] });
  cab = await app.token('cab@example.com', { roles: ['cab-member'] });
  viewer = await app.token('vera@example.com', { roles: ['viewer'] });
  deps = { pool: app.pool, config: app.config, log: createLogger('change-step-test', 'silent'), client: lazyStepClient(app.config) };
}, 240_000);
afterAll(async () => {
  await (await deps?.client())?.connection.close();
  await app?.close();
});

const call = (method: string, path: string, token: string, body?: unknown) => app.http(method, `/api/v1${path}`, { token, body });

function changeNode(overrides: Record<string, unknown> = {}) {
  return {
    id: 'open_change',
    type: 'change-request',
    inputs: {
      title: 'Ship the payments service',
      implementationPlan: '1. Deploy the release\n2. Watch the error rate',
      backoutPlan: 'Roll back to the previous release',
      scheduledStart: iso(HOUR),
      scheduledEnd: iso(2 * HOUR),
      cabApprovers: ['cab@example.com'],
      ...overrides,
    },
  };
}

async function startRun(nodes: unknown[]): Promise<string> {
  const template = await call('POST', '/workflow-templates', requester, { name: `change ${randomUUID().slice(0, 8)}`, nodes });
  expect(template.status).toBe(201);
  const run = await call('POST', '/workflow-runs', requester, { templateId: template.body.data.id, parameters: {} });
  expect(run.status).toBe(201);
  return run.body.data.id;
}

/** The change a run's node opened, once the CAB has it. */
async function changeInCab(runId: string, nodeId = 'open_change'): Promise<string> {
  return until(`the change of ${nodeId} in cab_review`, async () => {
    const { rows } = await app.pool.query<{ resource_id: string }>("SELECT resource_id FROM template_step_resources WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND kind = 'change'", [app.tenant, runId, nodeId]);
    if (!rows[0]) return undefined;
    const change = await call('GET', `/changes/${rows[0].resource_id}`, cab);
    return change.status === 200 && change.body.data.state === 'cab_review' ? rows[0].resource_id : undefined;
  }, 60_000);
}

const stepOf = async (runId: string, nodeId = 'open_change') => (await call('GET', `/workflow-runs/${runId}/steps/${nodeId}`, requester)).body.data;

it('lists change-request as available', async () => {
  const res = await call('GET', '/step-types', viewer);
  const type = res.body.data.find((t: any) => t.type === 'change-request');
  expect(type.available).toBe(true);
  expect(Object.keys(type.outputSchema?.properties ?? type.output?.properties ?? {})).toEqual(expect.arrayContaining(['changeId', 'state', 'riskLevel']));
});

it('refuses a run whose requester may not open and submit a change (403 naming the node)', async () => {
  const template = await call('POST', '/workflow-templates', requester, { name: `change ${randomUUID().slice(0, 8)}`, nodes: [changeNode()] });
  // Every role that may start runs may also open and submit changes: a token granting less shows the rule.
  const opener = await app.token('opener@example.com', { roles: [], permissions: ['template:read', 'template-run:create', 'change:read', 'change:create'] });
  const run = await call('POST', '/workflow-runs', opener, { templateId: template.body.data.id, parameters: {} });
  expect([run.status, run.body.error.code]).toEqual([403, 'STEP_NOT_PERMITTED']);
  expect(run.body.error.details).toMatchObject({ nodes: [{ nodeId: 'open_change', type: 'change-request', permission: 'change:update' }] });
});

it('opens a change, sends it to CAB, and succeeds once the CAB approves it; the next node reads its outputs', async () => {
  const runId = await startRun([
    changeNode(),
    { id: 'after', type: 'wait', dependsOn: ['open_change'], inputs: { duration: '1s' }, when: 'steps.open_change.outputs.state == "scheduled"' },
  ]);
  const changeId = await changeInCab(runId);
  const change = (await call('GET', `/changes/${changeId}`, cab)).body.data;
  expect(change).toMatchObject({ type: 'normal', short_description: 'Ship the payments service', requested_by: 'rita@example.com' });
  expect((await stepOf(runId)).status).toBe('running');

  expect((await call('POST', `/changes/${changeId}/approve`, cab, { comment: 'fine' })).status).toBe(200);
  const step = await until('the change node to succeed', async () => {
    const s = await stepOf(runId);
    return s.status === 'succeeded' ? s : undefined;
  }, 60_000);
  expect(step.outputs).toEqual({ changeId, state: 'scheduled', riskLevel: expect.any(String), riskScore: expect.any(Number) });
  const run = await until('the run to succeed', async () => {
    const r = (await call('GET', `/workflow-runs/${runId}`, requester)).body.data;
    return r.status === 'succeeded' ? r : undefined;
  }, 60_000);
  expect(run.nodes.find((n: any) => n.nodeId === 'after').status).toBe('succeeded');
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM template_step_resources WHERE tenant_id = $1 AND run_id = $2', [app.tenant, runId]);
  expect(rows[0].n).toBe(1);
});

it('fails the node (and the run) when the CAB rejects the change', async () => {
  const runId = await startRun([changeNode()]);
  const changeId = await changeInCab(runId);
  expect((await call('POST', `/changes/${changeId}/reject`, cab, { reason: 'no backout tested' })).status).toBe(200);
  const step = await until('the change node to fail', async () => {
    const s = await stepOf(runId);
    return s.status === 'failed' ? s : undefined;
  }, 60_000);
  expect(step.error).toMatchObject({ code: 'CHANGE_REJECTED' });
  expect(step.error.message).toContain('no backout tested');
  await until('the run to fail', async () => (await call('GET', `/workflow-runs/${runId}`, requester)).body.data.status === 'failed', 60_000);
});

it('fails the node with the change module’s refusal when the change cannot be submitted', async () => {
  const runId = await startRun([changeNode({ scheduledStart: iso(-2 * HOUR), scheduledEnd: iso(-HOUR) })]);
  const step = await until('the change node to fail', async () => {
    const s = await stepOf(runId);
    return s.status === 'failed' ? s : undefined;
  }, 60_000);
  expect(step.error).toMatchObject({ code: 'MAINTENANCE_WINDOW_PASSED' });
});

describe('the step run twice for one node (a retried activity)', () => {
  const task = (): StepTask => ({ signal: new AbortController().signal, heartbeat: () => undefined });
  const request = (runId: string): StepRequest => ({
    tenantId: app.tenant,
    runId,
    nodeId: 'cr',
    type: 'change-request',
    inputs: { title: 'Rotate the build agents’ logs', type: 'standard', implementationPlan: 'logrotate', backoutPlan: 'restore', scheduledStart: iso(MIN), scheduledEnd: iso(HOUR) },
    attempt: 1,
    requestedBy: { userId: 'rita@example.com', email: 'rita@example.com' },
  });

  it('opens one change; a standard change is scheduled at once', async () => {
    const runId = randomUUID();
    const step = changeRequestStep(deps);
    const [first, second] = await Promise.all([step(request(runId), task()), step(request(runId), task())]);
    expect(first.outputs).toMatchObject({ state: 'scheduled' });
    expect(second.outputs.changeId).toBe(first.outputs.changeId);
    const third = await step(request(runId), task());
    expect(third.outputs.changeId).toBe(first.outputs.changeId);
    const { rows } = await app.pool.query("SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1 AND body->>'description' LIKE $2", [app.tenant, `%${runId}%`]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses inputs the change module refuses, naming the field', async () => {
    const bad = { ...request(randomUUID()), inputs: { title: 'x', scheduledStart: iso(HOUR) } };
    const failure = await changeRequestStep(deps)(bad, task()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('INVALID_STEP_INPUTS');
    expect((failure as ApplicationFailure).message).toContain('scheduled_start');
  });
});

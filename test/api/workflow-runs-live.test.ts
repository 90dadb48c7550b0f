import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { connectStream } from '../support/live-stream';

/**
 * Runs driven by their templateRun workflow on the real stack: a template made
 * through its API, a run started with it, an approval step that keeps
 * separation of duties and its groups, pause and resume answered by the
 * workflow's validators (409 for what the run's state does not allow), a
 * cancel that ends it, and the run's stream following the workflow's writes.
 */
let app: TestApp;
let requester: string;
let approver: string;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp();
  requester = await app.token('rita@example.com', { roles: ['release-manager'] });
  approver = await app.token('bob@example.com', { roles: ['release-manager'] });
  viewer = await app.token('vic@example.com', { roles: ['viewer'] });
});
afterAll(() => app?.close());

const call = (method: string, path: string, token: string, body?: unknown) => app.http(method, `/api/v1${path}`, { token, body });
const data = (res: { status: number; body: any }, status: number) => {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error: undefined });
  return res.body.data;
};
const refusal = (res: { status: number; body: any }) => [res.status, res.body?.error?.code];

const TEMPLATE = {
  name: 'sign then soak',
  parameters: [{ name: 'release', type: 'string' }],
  nodes: [
    { id: 'sign_off', type: 'approval', inputs: { approvals: 1, groups: ['release-manager'], separationOfDuties: true } },
    { id: 'soak', type: 'wait', dependsOn: ['sign_off'], inputs: { duration: '1h' } },
  ],
};

jest.setTimeout(300_000);

it('runs an approval step under its rules, pauses and resumes with 409 for what its state does not allow, streams node changes, and cancels', async () => {
  const template = data(await call('POST', '/workflow-templates', requester, TEMPLATE), 201);
  const run = data(await call('POST', '/workflow-runs', requester, { templateId: template.id, parameters: { release: '2.4.0' } }), 201);
  // As a browser connects: the token in the query (it cannot set headers on a WebSocket).
  const stream = await connectStream(app.url, `/workflow-runs/${run.id}/stream`, { query: `access_token=${encodeURIComponent(viewer)}` });
  await stream.next((m) => m.type === 'snapshot', 'the snapshot');

  await eventually(async () => expect(data(await call('GET', `/workflow-runs/${run.id}/steps/sign_off`, viewer), 200).status).toBe('running'), { timeoutMs: 90_000 });
  const started = await stream.next((m) => m.type === 'run' && m.changed.includes('sign_off') && m.run.nodes[0].status === 'running', 'the approval step running');
  expect(started.run.status).toBe('running');

  // The requester may not approve their own run; a viewer is in no approver group.
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/steps/sign_off/approve`, requester, {}))).toEqual([403, 'SOD_VIOLATION']);
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/steps/sign_off/approve`, viewer, {}))).toEqual([403, 'NOT_AN_APPROVER']);
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/steps/soak/approve`, approver, {}))).toEqual([422, 'NOT_AN_APPROVAL_STEP']);

  expect(data(await call('POST', `/workflow-runs/${run.id}/pause`, requester, { reason: 'change freeze' }), 200).status).toBe('paused');
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/pause`, requester))).toEqual([409, 'RUN_ALREADY_PAUSED']);
  expect(data(await call('POST', `/workflow-runs/${run.id}/resume`, requester), 200).status).toBe('running');
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/resume`, requester))).toEqual([409, 'RUN_NOT_PAUSED']);
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/pause`, viewer))).toEqual([403, 'FORBIDDEN']);

  const approved = data(await call('POST', `/workflow-runs/${run.id}/steps/sign_off/approve`, approver, { comment: 'looks good' }), 200);
  expect(approved.nodes[0].approvals).toEqual([expect.objectContaining({ approverEmail: 'bob@example.com', decision: 'approved', comment: 'looks good' })]);
  await eventually(async () => {
    const nodes = data(await call('GET', `/workflow-runs/${run.id}/steps`, viewer), 200);
    expect(nodes.map((n: any) => [n.nodeId, n.status])).toEqual([
      ['sign_off', 'succeeded'],
      ['soak', 'running'],
    ]);
  }, { timeoutMs: 90_000 });
  await stream.next((m) => m.type === 'run' && m.changed.includes('soak') && m.run.nodes[1].status === 'running', 'the soak running');

  expect(['cancelling', 'cancelled']).toContain(data(await call('POST', `/workflow-runs/${run.id}/cancel`, requester, { reason: 'superseded' }), 200).status);
  await eventually(async () => expect(data(await call('GET', `/workflow-runs/${run.id}`, viewer), 200).status).toBe('cancelled'), { timeoutMs: 90_000 });
  const last = await stream.next((m) => m.type === 'run' && m.run.status === 'cancelled', 'the cancelled run');
  expect(last.run.nodes.find((n: any) => n.nodeId === 'soak').status).toBe('cancelled');
  expect((await stream.waitClosed()).code).toBe(1000);
  expect(refusal(await call('POST', `/workflow-runs/${run.id}/pause`, requester))).toEqual([409, 'RUN_FINISHED']);

  const listed = data(await call('GET', `/workflow-runs?templateId=${template.id}&status=cancelled`, viewer), 200);
  expect(listed.map((r: any) => r.id)).toEqual([run.id]);
});

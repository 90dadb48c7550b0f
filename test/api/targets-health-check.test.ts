import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { agentTaskQueue } from '../../domain/deployments/model';
import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { spawnTs, type Spawned } from '../support/processes';
import { scene, type Scene } from '../support/promotion-scene';

/**
 * POST /targets/{id}/health-check against a real agent process: the check runs
 * on the agent that owns the target (here, against a small HTTP server of this
 * test standing in for the target's service), with its retries, and the
 * answer comes back in the response; a target without a check or an agent is
 * refused, and an agent that is gone answers "offline" instead of hanging.
 */

const PICKUP_TIMEOUT = '3s';
let app: TestApp;
let s: Scene;
let server: Server;
let serverUrl: string;
let root: string;
let agent: Spawned | undefined;
let agentId: string;
/** What the stand-in service answers on /ok (changed by a test to tell its answer from an earlier one). */
let okBody = { status: 'ok', releaseId: 'rel-7', version: '7.0.0' };
const hits: Record<string, number> = {};
const targets: Record<string, any> = {};

beforeAll(async () => {
  // Heartbeats are rare here, so what a target reports is what the health check wrote, and the agent stays online.
  app = await startTestApp({ env: { DEPLOY_PICKUP_TIMEOUT: PICKUP_TIMEOUT, DEPLOY_HEARTBEAT_TIMEOUT: '3s', AGENT_OFFLINE_AFTER: '1h' } });
  s = await scene(app, app.tenant);
  root = mkdtempSync(path.join(os.tmpdir(), 'tollgate-health-check-'));
  server = createServer((req, res) => {
    const route = (req.url ?? '/').split('?')[0];
    hits[route] = (hits[route] ?? 0) + 1;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (route === '/ok') return json(200, okBody);
    if (route === '/env-default') return json(200, { status: 'ok', version: '5.5.5' });
    if (route === '/fail') return json(503, { status: 'failing', reason: 'database unreachable' });
    // A target's answer is its own: NUL inside the JSON (escaped) and raw in a plain body.
    if (route === '/nul-json') return json(200, { status: 'ok', releaseId: 'rel-\u0000-9', version: '9.0.0' });
    if (route === '/nul-raw') return res.writeHead(503, { 'content-type': 'text/plain' }).end('down\u0000now');
    // Never answers: the agent is still checking when it is killed.
    if (route === '/hang') return;
    json(404, { status: 'no such page' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const env = await s.expect(201, 'POST', '/environments', s.admin, {
    name: 'Staging',
    order: 1,
    deployment: { healthCheck: { url: `${serverUrl}/env-default`, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 } },
  });
  const bare = await s.expect(201, 'POST', '/environments', s.admin, { name: 'Lab', order: 2 });
  const target = async (name: string, environmentId: string, healthCheck?: unknown) =>
    (targets[name] = await s.expect(201, 'POST', '/targets', s.admin, { name, environmentId, ...(healthCheck ? { healthCheck } : {}) }));
  await target('web-ok', env.id, { url: `${serverUrl}/ok`, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 });
  await target('web-sick', env.id, { url: `${serverUrl}/fail`, retries: 2, intervalSeconds: 1, timeoutSeconds: 2 });
  await target('web-default', env.id);
  await target('web-nul-json', env.id, { url: `${serverUrl}/nul-json`, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 });
  await target('web-nul-raw', env.id, { url: `${serverUrl}/nul-raw`, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 });
  await target('web-hang', env.id, { url: `${serverUrl}/hang`, retries: 0, intervalSeconds: 1, timeoutSeconds: 60 });
  await target('web-orphan', env.id, { url: `${serverUrl}/ok`, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 });
  await target('web-silent', env.id, { url: `${serverUrl}/ok`, retries: 0, intervalSeconds: 1, timeoutSeconds: 2 });
  await target('lab-1', bare.id);
  // Registered but never started: it has not sent a heartbeat yet.
  await s.expect(201, 'POST', '/agents/register', s.admin, { name: 'never-started', environmentId: env.id, targets: ['web-silent'] });

  const registrar = await s.token('registrar@example.com', { roles: ['agent-registrar'] });
  const owned = ['web-ok', 'web-sick', 'web-default', 'web-nul-json', 'web-nul-raw', 'web-hang'];
  const startedAt = Date.now();
  const proc = spawnTs('worker/agent.ts', { LOG_LEVEL: process.env.TEST_AGENT_LOG_LEVEL ?? 'warn' }, [
    '--api', app.url, '--token', registrar, '--name', 'checker', '--environment', env.id, '--targets', owned.join(','), '--state-dir', root, '--heartbeat-interval', '1h',
  ]);
  agent = proc;
  try {
    agentId = await until('the agent to own its targets', async () => {
      if (proc.child.exitCode !== null) throw new Error(`the agent exited (${proc.child.exitCode})`);
      const owners = await Promise.all(owned.map(async (name) => (await s.expect(200, 'GET', `/targets/${targets[name].id}`)).agentId as string | null));
      return owners.every((o) => o && o === owners[0]) ? owners[0] : undefined;
    }, 60_000);
    await until('the agent to poll its task queue', async () => {
      if (proc.child.exitCode !== null) throw new Error(`the agent exited (${proc.child.exitCode})`);
      return (await activityPollers(agentTaskQueue(agentId))).some((at) => at >= startedAt);
    }, 60_000);
  } catch (err) {
    (err as Error).message += `\nagent output:\n${proc.output().slice(-3000)}`;
    throw err;
  }
}, 120_000);

afterAll(async () => {
  if (agent && agent.child.exitCode === null && agent.child.signalCode === null) {
    agent.child.kill('SIGKILL');
    await agent.exited;
  }
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function activityPollers(taskQueue: string): Promise<number[]> {
  const described = await app.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (described.pollers ?? []).map((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000 + Math.floor((p.lastAccessTime?.nanos ?? 0) / 1e6));
}

const check = (name: string, token = s.admin) => s.call('POST', `/targets/${targets[name].id}/health-check`, token);
const reportedRow = async (name: string) =>
  (await app.pool.query('SELECT reported, reported_at FROM targets WHERE tenant_id = $1 AND id = $2', [app.tenant, targets[name].id])).rows[0];

test('a healthy target: the agent checks it now and the answer names what it runs, which drift then reads', async () => {
  okBody = { status: 'ok', releaseId: 'rel-8', version: '8.0.0' };
  hits['/ok'] = 0;
  const res = await check('web-ok');
  expect(res.status).toBe(200);
  expect(res.body.data).toEqual({
    targetId: targets['web-ok'].id,
    healthy: true,
    checks: 1,
    lastStatus: '200',
    message: expect.stringContaining(`GET ${serverUrl}/ok answered 200`),
    checkedAt: expect.any(String),
    agentId,
    reported: { releaseId: 'rel-8', version: '8.0.0' },
    error: null,
  });
  expect(hits['/ok']).toBe(1);
  expect(Math.abs(Date.parse(res.body.data.checkedAt) - Date.now())).toBeLessThan(30_000);

  // Recorded like a heartbeat's report (the agent's own heartbeats are an hour apart here).
  expect((await reportedRow('web-ok')).reported).toEqual({ releaseId: 'rel-8', version: '8.0.0', healthy: true });
  const drift = await s.expect(200, 'GET', `/targets/${targets['web-ok'].id}/drift`);
  expect(drift.actual).toMatchObject({ releaseId: 'rel-8', version: '8.0.0', healthy: true });

  const audit = await app.pool.query(`SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'target.health-check'`, [app.tenant, targets['web-ok'].id]);
  expect(audit.rows).toHaveLength(1);
  expect(audit.rows[0]).toMatchObject({ actor: 'admin@example.com', after: { healthy: true, agentId, workflowId: expect.stringMatching(new RegExp(`^${app.tenant}:target-health-check:${targets['web-ok'].id}:`)) } });

  // The run is findable in the Temporal UI by tenant, kind and target.
  const query = `TollgateTenant="${app.tenant}" AND TollgateKind="target-health-check" AND TollgateResourceId="${targets['web-ok'].id}"`;
  const runs = await eventually(async () => {
    const found = [];
    for await (const run of app.client.workflow.list({ query })) found.push(run);
    expect(found).toHaveLength(1);
    return found;
  });
  expect(runs[0]).toMatchObject({ type: 'targetHealthCheck', status: { name: 'COMPLETED' } });
  expect(runs[0].workflowId).toBe(audit.rows[0].after.workflowId);
});

test('an unhealthy target: every retry runs on the agent, and the answer carries the last status', async () => {
  hits['/fail'] = 0;
  const res = await check('web-sick');
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ healthy: false, checks: 3, lastStatus: '503', agentId, reported: { releaseId: null, version: null }, error: null });
  expect(res.body.data.message).toMatch(/^unhealthy after 3 check\(s\); last: GET .*\/fail answered 503: .*database unreachable/);
  expect(hits['/fail']).toBe(3);
  // Nothing named a release: nothing is recorded as what the target runs.
  expect((await reportedRow('web-sick')).reported?.releaseId ?? null).toBeNull();
});

test('a target without a check of its own uses its environment’s; operators and inventory managers may run it', async () => {
  hits['/env-default'] = 0;
  const sre = await s.token('sre@example.com', { roles: ['sre'] });
  const res = await check('web-default', sre);
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ healthy: true, checks: 1, lastStatus: '200', reported: { releaseId: null, version: '5.5.5' } });
  expect(hits['/env-default']).toBe(1);

  const inventory = await s.token('inv@example.com', { roles: [], permissions: ['environment:write'] });
  const again = await check('web-default', inventory);
  expect(again.status).toBe(200);
  expect(again.body.data.healthy).toBe(true);
});

test('what a target answers cannot break the check: text Postgres would refuse is cleaned before it is stored', async () => {
  const clean = await check('web-nul-json');
  expect(clean.status).toBe(200);
  expect(clean.body.data).toMatchObject({ healthy: true, reported: { releaseId: 'rel--9', version: '9.0.0' } });
  expect((await reportedRow('web-nul-json')).reported).toEqual({ releaseId: 'rel--9', version: '9.0.0', healthy: true });
  const raw = await check('web-nul-raw');
  expect(raw.status).toBe(200);
  expect(raw.body.data).toMatchObject({ healthy: false, lastStatus: '503' });
  expect(raw.body.data.message).toContain('answered 503: down\ufffdnow');
});

test('the StackFlow dialect answers the same check as a bare body', async () => {
  const res = await app.http('POST', `/prod/api/targets/${targets['web-ok'].id}/health-check`, { token: s.admin, body: {} });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ targetId: targets['web-ok'].id, healthy: true, agentId });
});

test('no check anywhere is 422 NO_HEALTH_CHECK; no agent is 422 NO_AGENT', async () => {
  expect(await s.refuse(422, 'POST', `/targets/${targets['lab-1'].id}/health-check`)).toMatchObject({ code: 'NO_HEALTH_CHECK' });
  expect(await s.refuse(422, 'POST', `/targets/${targets['web-orphan'].id}/health-check`)).toMatchObject({ code: 'NO_AGENT' });
});

test('another tenant’s target is 404, a viewer is 403, and a body with fields is 400', async () => {
  const stranger = await app.token('admin@other.example.com', { tenant: `${app.tenant}-other` });
  expect(await s.refuse(404, 'POST', `/targets/${targets['web-ok'].id}/health-check`, stranger)).toMatchObject({ code: 'NOT_FOUND' });
  expect(await s.refuse(404, 'POST', `/targets/00000000-0000-4000-8000-000000000000/health-check`)).toMatchObject({ code: 'NOT_FOUND' });
  const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
  expect(await s.refuse(403, 'POST', `/targets/${targets['web-ok'].id}/health-check`, viewer)).toMatchObject({ code: 'FORBIDDEN' });
  expect(await s.refuse(400, 'POST', `/targets/${targets['web-ok'].id}/health-check`, s.admin, { url: 'http://elsewhere' })).toMatchObject({ code: 'VALIDATION_FAILED' });
});

test('an agent that never sent a heartbeat is offline at once, without waiting for a pickup', async () => {
  const started = Date.now();
  const res = await check('web-silent');
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ healthy: false, checks: 0, lastStatus: null, error: { code: 'AGENT_OFFLINE' } });
  expect(res.body.data.message).toMatch(/has not sent a heartbeat yet .*it is offline/);
  expect(Date.now() - started).toBeLessThan(2_000);
});

test('an agent killed while it checks stops heartbeating: the answer says it was lost, within the heartbeat timeout', async () => {
  hits['/hang'] = 0;
  const pending = check('web-hang');
  await until('the agent to be checking', () => hits['/hang'] >= 1, 15_000, 100);
  agent!.child.kill('SIGKILL');
  await agent!.exited;
  const killed = Date.now();
  const res = await pending;
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ healthy: false, checks: 0, agentId, error: { code: 'AGENT_LOST' } });
  expect(res.body.data.message).toBe(`agent ${agentId} stopped heartbeating for 3s while checking web-hang; presumed dead`);
  // The heartbeat timeout, not the check's 60 s timeout.
  expect(Date.now() - killed).toBeLessThan(15_000);
});

test('an agent killed since its last heartbeat: nobody picks the check up, and the answer says it is offline', async () => {
  const started = Date.now();
  const res = await check('web-ok');
  expect(res.status).toBe(200);
  expect(res.body.data).toMatchObject({ healthy: false, checks: 0, lastStatus: null, agentId, error: { code: 'AGENT_OFFLINE' } });
  expect(res.body.data.message).toBe(`agent ${agentId} did not pick the check up within 3s; it is offline`);
  // The pickup timeout, not the check's budget nor the command timeout.
  expect(Date.now() - started).toBeLessThan(15_000);
});

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { startApiReplica } from '../support/api-process';
import { startTestApp, type TestApp } from '../support/app';
import { emit, openDashboard, type DashboardClient } from '../support/dashboard-stream';
import { jobBody, putJob, putTask, taskBody } from '../support/deployment-rows';
import { recordAudit } from '../../platform/audit';
import { until } from '../support/eventually';
import { ROOT, type Spawned } from '../support/processes';
import { ensureDashboardSchedule } from '../../worker/dashboard-schedule';
import { approve, awaiting, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * The dashboard stream over real sockets, on two API processes sharing one
 * Postgres and one Temporal: an event made through one replica reaches a
 * socket on the other (LISTEN/NOTIFY); a client resumes from the last id it
 * saw with nothing lost or repeated; a client that stops reading is closed
 * with 4008 instead of buffered without bound; refusals come before the
 * upgrade; a tenant sees its own events only.
 */
let app: TestApp;
let second: Spawned;
let secondUrl: string;
let a: Scene;
let b: Scene;
let viewer: string;
const open: DashboardClient[] = [];

// A client that stops reading is dropped after 2 s behind (10 s by default).
const STALL = { STREAM_STALL_TIMEOUT: '2s' };

beforeAll(async () => {
  app = await startTestApp({ env: STALL });
  ({ proc: second, url: secondUrl } = await startApiReplica(app, ['--import', 'tsx', path.join(ROOT, 'api/server.ts')], STALL));
  a = await scene(app);
  b = await scene(app);
  viewer = await a.token('viewer@example.com', { roles: ['viewer'] });
}, 120_000);
afterAll(async () => {
  for (const c of open) c.ws.terminate();
  second?.child.kill('SIGTERM');
  await second?.exited;
  await app?.close();
});

async function dashboard(baseUrl: string, options: Parameters<typeof openDashboard>[1]): Promise<DashboardClient> {
  const client = await openDashboard(baseUrl, options);
  open.push(client);
  return client;
}

const ids = (c: DashboardClient) => c.events().map((e) => e.id);
const increasing = (list: string[]) => list.every((id, i) => i === 0 || BigInt(id) > BigInt(list[i - 1]));

it('delivers a promotion made through one API process to a socket on the other', async () => {
  const watching = await dashboard(secondUrl, { token: viewer });
  const foreign = await dashboard(secondUrl, { token: await b.token('bob@example.com', { roles: ['viewer'] }) });
  await Promise.all([watching.ready(), foreign.ready()]);

  const st = await stage(a);
  const created = await awaiting(a, a.admin, st);
  const event = await watching.event((e) => e.event === 'promotion.status' && e.data.promotionId === created.id, 'the promotion on the other replica');
  expect(event).toMatchObject({
    type: 'event',
    id: expect.stringMatching(/^\d+$/),
    subject: { type: 'promotion', id: created.id },
    at: expect.any(String),
    data: { promotionId: created.id, releaseId: st.release.id, environmentId: st.env.id, status: expect.any(String) },
  });
  await watching.event((e) => e.event === 'promotion.status' && e.data.promotionId === created.id && e.data.status === 'awaiting_approval', 'awaiting approval');
  const bob = await a.token('bob@example.com', { roles: ['approver'] });
  expect((await approve(a, created.id, bob, 'ship it')).status).toBe(200);
  const approval = await watching.event((e) => e.event === 'promotion.approval' && e.data.promotionId === created.id, 'the approval');
  expect(approval.data).toMatchObject({ approverId: 'bob@example.com', decision: 'approved', comment: 'ship it', approvalCount: 1 });
  // A job row written as the deployment workflow writes it shows too, and the other tenant saw neither.
  const job = await putJob(app.pool, a.tenant, jobBody(a.tenant));
  await watching.event((e) => e.event === 'deployment.job' && e.data.jobId === job.id, 'the job');
  await emit(app.pool, b.tenant);
  await foreign.event(() => true, 'the other tenant’s own event');
  expect(foreign.events().some((e) => e.data.promotionId === created.id || e.data.jobId === job.id)).toBe(false);
  expect(watching.events().every((e) => e.data.n === undefined)).toBe(true);
  expect(increasing(ids(watching))).toBe(true);
});

it('resumes after a disconnect from the last id seen (query, Last-Event-ID header or a first message), losing and repeating nothing', async () => {
  const tenant = a.tenant;
  const first = await dashboard(app.url, { token: viewer });
  await first.ready();
  await emit(app.pool, tenant, 5, { batch: 'one' });
  await until('five events', () => first.events().filter((e) => e.data.batch === 'one').length === 5 || undefined);
  const last = ids(first).at(-1)!;
  first.close();
  await first.waitClosed();

  // While nobody listens, on both replicas' writers.
  await emit(app.pool, tenant, 3, { batch: 'two' });
  // Resumed on the other replica, with more landing while the replay runs.
  const resumed = await dashboard(secondUrl, { token: viewer, query: `lastEventId=${last}` });
  await emit(app.pool, tenant, 4, { batch: 'three' });
  await until('seven events after the resume point', () => resumed.events().length >= 7 || undefined);
  await resumed.ready();
  await emit(app.pool, tenant, 1, { batch: 'four' });
  await resumed.event((e) => e.data.batch === 'four', 'a live event after the replay');
  const batches = resumed.events().map((e) => e.data.batch);
  expect(batches).toEqual(['two', 'two', 'two', 'three', 'three', 'three', 'three', 'four']);
  // Ids are the tenant's own, one apart.
  expect(ids(resumed)).toEqual(Array.from({ length: 8 }, (_v, i) => String(Number(last) + 1 + i)));

  const byHeader = await dashboard(app.url, { token: viewer, headers: { 'last-event-id': last } });
  await byHeader.ready();
  expect(ids(byHeader)).toEqual(ids(resumed));

  const byMessage = await dashboard(app.url, { token: viewer });
  byMessage.ws.send(JSON.stringify({ type: 'resume', lastEventId: ids(resumed)[5] }));
  await byMessage.ready();
  expect(ids(byMessage)).toEqual(ids(resumed).slice(6));

  const bad = await dashboard(app.url, { token: viewer });
  bad.ws.send('hello');
  expect((await bad.waitClosed()).code).toBe(1008);
});

it('closes a client that stops reading with 4008 once its unsent bytes stay past the bound; it resumes with nothing lost, and a backlog larger than the bound reaches a reading client whole', async () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const token = await app.token('slow@example.com', { tenant, roles: ['viewer'] });
  const slow = await dashboard(app.url, { token });
  await slow.ready();
  const before = app.deps.realtime!.subscriberCount;
  // Stop reading: the kernel's buffers fill, then the server's.
  (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const total = 400;
  await emit(app.pool, tenant, total, { padding: 'x'.repeat(40_000) });
  await until('the server to drop the slow stream', () => app.deps.realtime!.subscriberCount < before || undefined, 30_000);
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await slow.waitClosed();
  expect(closed.code).toBe(4008);
  expect(closed.reason).toMatch(/^SLOW_CLIENT/);
  const got = slow.events().map((e) => e.data.n);
  expect(ids(slow)).toEqual(got.map((n) => String(n)));
  expect(got.length).toBeLessThan(total);
  expect(got).toEqual(got.map((_n, i) => i + 1));

  const again = await dashboard(app.url, { token, query: `lastEventId=${ids(slow).at(-1) ?? '0'}` });
  await until('the rest', () => again.events().length === total - got.length || undefined, 30_000);
  expect(again.events().map((e) => e.data.n)).toEqual(Array.from({ length: total - got.length }, (_v, i) => got.length + i + 1));
  again.close();
});

it('shows each caller only the event families it may read', async () => {
  const promotionsOnly = await dashboard(app.url, { token: await a.token('p@example.com', { roles: [], permissions: ['promotion:read'] }) });
  await promotionsOnly.ready();
  await putJob(app.pool, a.tenant, jobBody(a.tenant));
  await emit(app.pool, a.tenant, 1, { marker: 'visible' });
  await promotionsOnly.event((e) => e.data.marker === 'visible', 'the promotion event');
  expect(promotionsOnly.events().every((e) => e.event.startsWith('promotion.'))).toBe(true);
});

it('refuses before upgrading: 401 without a valid token, 403 without any read permission, 400 for a bad lastEventId, 426 without Upgrade', async () => {
  const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (err: { status?: number }) => err.status);
  expect(await refusal(openDashboard(app.url))).toBe(401);
  expect(await refusal(openDashboard(secondUrl, { query: 'access_token=not-a-token' }))).toBe(401);
  expect(await refusal(openDashboard(app.url, { token: await a.token('x@example.com', { roles: [], permissions: ['change:read'] }) }))).toBe(403);
  expect(await refusal(openDashboard(app.url, { token: viewer, query: 'lastEventId=abc' }))).toBe(400);
  expect(await refusal(openDashboard(app.url, { token: viewer, query: 'lastEventId=999999999999' }))).toBe(400);
  const plain = await a.call('GET', '/dashboard/stream', viewer);
  expect(plain.status).toBe(426);
  expect(plain.body.error.code).toBe('UPGRADE_REQUIRED');
  // No operation in the OpenAPI documents, but their description says how to use it.
  for (const [document, prefix] of [['/api/v1/openapi.json', '/api/v1'], ['/prod/api/openapi.json', '/prod/api']]) {
    const doc = (await app.http('GET', document)).body;
    expect(Object.keys(doc.paths).filter((p) => p.endsWith('stream'))).toEqual([]);
    expect(doc.info.description).toContain(`GET ${prefix}/dashboard/stream`);
  }
  // The query token works for a browser's socket.
  const browser = await dashboard(app.url, { query: `access_token=${viewer}&lastEventId=0` });
  await browser.ready();
  browser.close();
});

it('a Temporal Schedule records a freeze starting and ending once each, and purges events past the retention window', async () => {
  const c = await scene(app);
  const watcher = await c.token('viewer@example.com', { roles: ['viewer'] });
  const env = await c.expect(201, 'POST', '/environments', c.admin, { name: 'Production', order: 1, requiredApprovals: 1 });
  // An event older than the retention window (7 days by default).
  await emit(app.pool, c.tenant, 1, { old: true });
  const { rows } = await app.pool.query(
    `UPDATE dashboard_events SET occurred_at = now() - interval '30 days' WHERE tenant_id = $1 AND data->>'old' = 'true' RETURNING seq::text AS id`,
    [c.tenant],
  );
  const oldId: string = rows[0].id;
  const stream = await dashboard(secondUrl, { token: watcher, query: `lastEventId=${oldId}` });
  await stream.ready();
  const start = new Date(Date.now() + 3_000);
  const window = await c.expect(201, 'POST', `/environments/${env.id}/freeze-windows`, c.admin, {
    name: 'Short freeze',
    reason: 'watching it start and end',
    start: start.toISOString(),
    end: new Date(start.getTime() + 3_000).toISOString(),
  });

  const scheduleId = await ensureDashboardSchedule(app.client, { taskQueue: app.config.TEMPORAL_TASK_QUEUE, intervalMs: 1_000 });
  const schedule = app.client.schedule.getHandle(scheduleId);
  try {
    const started = await stream.event((e) => e.event === 'freeze.started', 'the freeze to start', 30_000);
    expect(started).toMatchObject({ subject: { type: 'environment', id: env.id }, data: { environmentId: env.id, windowId: window.id, name: 'Short freeze', reason: 'watching it start and end' } });
    expect(Date.parse(started.at)).toBeGreaterThanOrEqual(start.getTime());
    const ended = await stream.event((e) => e.event === 'freeze.ended', 'the freeze to end', 30_000);
    expect(ended.data).toMatchObject({ environmentId: env.id, windowId: window.id });
    // Later passes find nothing new to record.
    const taken = (await schedule.describe()).info.numActionsTaken;
    await until('two more sweeps', async () => (await schedule.describe()).info.numActionsTaken >= taken + 2 || undefined, 30_000);
    await until('the old event to be purged', async () => {
      const left = await app.pool.query('SELECT 1 FROM dashboard_events WHERE tenant_id = $1 AND seq = $2', [c.tenant, oldId]);
      return left.rowCount === 0 || undefined;
    }, 30_000);
    expect(stream.events().filter((e) => e.event.startsWith('freeze.')).map((e) => e.event)).toEqual(['freeze.started', 'freeze.ended']);
    const { rows: recorded } = await app.pool.query(`SELECT type FROM dashboard_events WHERE tenant_id = $1 AND type LIKE 'freeze.%' ORDER BY seq`, [c.tenant]);
    expect(recorded.map((r) => r.type)).toEqual(['freeze.started', 'freeze.ended']);
  } finally {
    await schedule.delete();
  }

  // A client resuming from before the purge is told that events may be gone, then gets what is left.
  const late = await dashboard(app.url, { token: watcher, query: `lastEventId=${BigInt(oldId) - 1n}` });
  await late.ready();
  expect(late.messages[0]).toMatchObject({ type: 'gap', lastEventId: String(BigInt(oldId) - 1n), purgedThrough: oldId });
  expect(late.events().map((e) => e.event)).toEqual(['freeze.started', 'freeze.ended']);
});

it('turns each source’s write into its event once: a target’s task, an SLA warning and breach, a rollout’s step', async () => {
  const d = await scene(app);
  const stream = await dashboard(app.url, { token: await d.token('viewer@example.com', { roles: ['viewer'] }) });
  await stream.ready();
  const job = await putJob(app.pool, d.tenant, jobBody(d.tenant));
  const task = await putTask(app.pool, d.tenant, taskBody(job, { status: 'running' }));
  await putTask(app.pool, d.tenant, { ...task, version: 2, status: 'succeeded' });
  const targets = await until('both target events', () => {
    const seen = stream.events().filter((e) => e.event === 'deployment.target');
    return seen.length === 2 ? seen : undefined;
  });
  expect(targets.map((e) => [e.data.taskId, e.data.targetId, e.data.status, e.data.previousStatus])).toEqual([
    [task.id, task.targetId, 'running', null],
    [task.id, task.targetId, 'succeeded', 'running'],
  ]);

  // As the SLA workflow's activity records them: an audit row per fact, retried with the same dedupe key.
  const incidentId = randomUUID();
  for (const fact of ['resolution_warning', 'resolution_breach', 'resolution_breach']) {
    await recordAudit(app.pool, {
      tenantId: d.tenant,
      actor: 'system',
      action: fact.endsWith('breach') ? 'incident.sla_breach' : 'incident.sla_warning',
      resourceType: 'incident',
      resourceId: incidentId,
      before: null,
      after: { target: 'resolution', priority: 'P1', state: 'new', due_at: new Date().toISOString(), at: new Date().toISOString() },
      dedupeKey: `incident-sla:${d.tenant}:${incidentId}:${fact}`,
    });
  }
  await stream.event((e) => e.event === 'incident.sla_breach', 'the breach');
  expect(stream.events().filter((e) => e.subject.id === incidentId).map((e) => [e.event, e.data.priority])).toEqual([
    ['incident.sla_warning', 'P1'],
    ['incident.sla_breach', 'P1'],
  ]);

  // A rollout's row, version-guarded as its persistence activity writes it: a step forward is an event, a stale write none.
  const rolloutId = randomUUID();
  const put = (version: number, state: string, stepIndex: number, canaryWeight: number) =>
    app.pool.query(
      `INSERT INTO rollouts (tenant_id, id, version, name, environment_id, stable_release_id, canary_release_id, strategy, state, created_at, updated_at, body)
       VALUES ($1, $2, $3, 'web canary', $4, $4, $4, 'canary', $5, now(), now(), $6)
       ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, body = EXCLUDED.body WHERE rollouts.version < EXCLUDED.version`,
      [d.tenant, rolloutId, version, job.environmentId, state, JSON.stringify({ stepIndex, canaryWeight, steps: [{}, {}, {}] })],
    );
  await put(1, 'progressing', 0, 10);
  await put(2, 'progressing', 1, 50);
  await put(2, 'progressing', 2, 90);
  await put(3, 'completed', 2, 100);
  await stream.event((e) => e.event === 'rollout.step' && e.data.state === 'completed', 'the rollout to complete');
  expect(stream.events().filter((e) => e.event === 'rollout.step').map((e) => [e.data.stepIndex, e.data.canaryWeight, e.data.steps, e.data.state])).toEqual([
    [0, 10, 3, 'progressing'],
    [1, 50, 3, 'progressing'],
    [2, 100, 3, 'completed'],
  ]);
  expect(increasing(ids(stream))).toBe(true);
});

import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { issueAgentCredential } from '../../api/auth/agent-credentials';
import { DeploymentEventHub } from '../../api/realtime/hub';
import { createLogger } from '../../platform/logger';
import { startTestApp, type TestApp } from '../support/app';
import { appendLog, jobBody, notify, putArtifact, putJob, putTask, taskBody } from '../support/deployment-rows';
import { until } from '../support/eventually';
import { connectStream } from '../support/live-stream';
import { scene, type Scene } from '../support/promotion-scene';

/**
 * The live streams over real WebSockets: a job's stream opens with a snapshot
 * and then carries what writers announce with pg_notify (log chunks, task and
 * job changes, artifacts) and closes with 1000 once the job has finished; an
 * agent's stream carries its own tasks only. Every refusal (no token, no
 * permission, another tenant, another agent) is an HTTP answer before any upgrade.
 */
let app: TestApp;
let a: Scene;
let b: Scene;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  a = await scene(app);
  b = await scene(app);
  viewer = await a.token('viewer@example.com', { roles: ['viewer'] });
});
afterAll(() => app?.close());

const connect = (path: string, options: { token?: string; query?: string } = {}) => connectStream(app.url, path, options);

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('the upgrade was accepted');
    },
    (err: { status?: number }) => err.status,
  );

async function agentOf(s: Scene): Promise<{ id: string; credential: string }> {
  const id = randomUUID();
  const { credential, hash } = issueAgentCredential(id);
  await app.pool.query(`INSERT INTO agents (tenant_id, id, name, environment_id, credential_hash, registered_by) VALUES ($1, $2, $3, $4, $5, 'test')`, [
    s.tenant,
    id,
    `agent-${id.slice(0, 8)}`,
    randomUUID(),
    hash,
  ]);
  return { id, credential };
}

it('opens a job stream with a snapshot, then sends new log chunks, task, artifact and job changes, and closes 1000 when the job finishes', async () => {
  const job = await putJob(app.pool, a.tenant, jobBody(a.tenant));
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  await appendLog(app.pool, a.tenant, task.id, 'starting\n');

  const stream = await connect(`/deployment-jobs/${job.id}/stream`, { token: viewer });
  const snapshot = await stream.next((m) => m.type === 'snapshot', 'the snapshot');
  expect(snapshot.job).toEqual(job);
  expect(snapshot.tasks).toEqual([{ ...task, log: { ...task.log, size: 9 } }]);
  expect(stream.messages[0].type).toBe('snapshot');
  // The log so far follows the snapshot.
  expect(await stream.next((m) => m.type === 'log', 'the backlog')).toEqual({ type: 'log', taskId: task.id, offset: 0, data: 'starting\n' });

  const offset = await appendLog(app.pool, a.tenant, task.id, 'hook ran\n');
  await notify(app.pool, { tenantId: a.tenant, kind: 'log', jobId: job.id, taskId: task.id, agentId: task.agentId! });
  expect(await stream.next((m) => m.type === 'log', 'the new chunk')).toEqual({ type: 'log', taskId: task.id, offset, data: 'hook ran\n' });

  // An event of another job, or of another tenant, moves nothing here.
  await notify(app.pool, { tenantId: a.tenant, kind: 'job', jobId: randomUUID() });
  await notify(app.pool, { tenantId: b.tenant, kind: 'job', jobId: job.id });

  const done = await putTask(app.pool, a.tenant, { ...task, version: 2, status: 'succeeded', exitCode: 0, finishedAt: new Date().toISOString() });
  await notify(app.pool, { tenantId: a.tenant, kind: 'task', jobId: job.id, taskId: task.id });
  expect((await stream.next((m) => m.type === 'task', 'the task change')).task).toMatchObject({ id: task.id, version: 2, status: 'succeeded', exitCode: 0, log: { size: 18 } });

  const artifact = await putArtifact(app.pool, a.tenant, done, 'result.json', Buffer.from('{"ok":true}'));
  await notify(app.pool, { tenantId: a.tenant, kind: 'artifact', jobId: job.id, taskId: task.id });
  expect((await stream.next((m) => m.type === 'artifact', 'the artifact')).artifact).toEqual({
    id: artifact.id,
    taskId: task.id,
    targetId: task.targetId,
    name: 'result.json',
    size: 11,
    sha256: artifact.sha256,
    createdAt: expect.any(String),
    downloadUrl: `/api/v1/deployment-jobs/${job.id}/artifacts/${artifact.id}`,
  });

  // A last line whose event never came (a NOTIFY lost with a connection) still goes out, before the job's final state.
  const tail = await appendLog(app.pool, a.tenant, task.id, 'bye\n');
  const finished = await putJob(app.pool, a.tenant, { ...job, version: 2, status: 'deployed', finishedAt: new Date().toISOString() });
  await notify(app.pool, { tenantId: a.tenant, kind: 'job', jobId: job.id });
  expect((await stream.next((m) => m.type === 'job', 'the final job')).job).toEqual(finished);
  expect(await stream.waitClosed()).toEqual({ code: 1000, reason: 'finished' });
  // Each change was sent once, in the order it happened; the job's final state last.
  expect(stream.messages.map((m) => m.type)).toEqual(['snapshot', 'log', 'log', 'task', 'artifact', 'log', 'job']);
  expect(stream.messages[5]).toEqual({ type: 'log', taskId: task.id, offset: tail, data: 'bye\n' });
});

it('takes the token as ?access_token= (browsers cannot set headers), and can start at the log’s end', async () => {
  const job = await putJob(app.pool, a.tenant, jobBody(a.tenant));
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  await appendLog(app.pool, a.tenant, task.id, 'old line\n');
  const stream = await connect(`/deployment-jobs/${job.id}/stream`, { query: `access_token=${encodeURIComponent(viewer)}&logs=new` });
  expect((await stream.next((m) => m.type === 'snapshot', 'the snapshot')).job.id).toBe(job.id);
  const offset = await appendLog(app.pool, a.tenant, task.id, 'new line\n');
  await notify(app.pool, { tenantId: a.tenant, kind: 'log', jobId: job.id, taskId: task.id });
  expect(await stream.next((m) => m.type === 'log', 'the new line')).toEqual({ type: 'log', taskId: task.id, offset, data: 'new line\n' });
  expect(stream.messages.filter((m) => m.type === 'log')).toHaveLength(1);
  stream.close();

  // A job that has already finished: its snapshot and log, then a clean close.
  const over = await putJob(app.pool, a.tenant, jobBody(a.tenant, { status: 'failed', finishedAt: new Date().toISOString() }));
  const last = await connect(`/deployment-jobs/${over.id}/stream`, { query: `access_token=${viewer}` });
  expect(await last.waitClosed()).toEqual({ code: 1000, reason: 'finished' });
  expect(last.messages.map((m) => m.type)).toEqual(['snapshot']);
});

it('refuses before upgrading: 401 without a valid token, 403 without deployment:read, 404 for another tenant’s or an unknown job, 426 without Upgrade', async () => {
  const job = await putJob(app.pool, a.tenant, jobBody(a.tenant));
  const path = `/deployment-jobs/${job.id}/stream`;
  expect(await refusal(connect(path))).toBe(401);
  expect(await refusal(connect(path, { query: 'access_token=not-a-token' }))).toBe(401);
  expect(await refusal(connect(path, { token: await a.token('x@example.com', { roles: [], permissions: ['promotion:read'] }) }))).toBe(403);
  const mallory = await b.token('mallory@example.com', { roles: ['release-manager'] });
  expect(await refusal(connect(path, { token: mallory }))).toBe(404);
  expect(await refusal(connect(path, { query: `access_token=${mallory}` }))).toBe(404);
  // An agent watches no job stream, of any tenant: only its own task stream.
  expect(await refusal(connect(path, { token: (await agentOf(b)).credential }))).toBe(403);
  expect(await refusal(connect(`/deployment-jobs/${randomUUID()}/stream`, { token: viewer }))).toBe(404);
  expect(await refusal(connect('/deployment-jobs/nope/stream', { token: viewer }))).toBe(400);

  const plain = await a.call('GET', path, viewer);
  expect(plain.status).toBe(426);
  expect(plain.body.error.code).toBe('UPGRADE_REQUIRED');
  // The query token works on the streams only.
  expect((await app.http('GET', `/api/v1/deployment-jobs/${job.id}?access_token=${viewer}`)).status).toBe(401);
  // Streams are no OpenAPI operations.
  const doc = (await app.http('GET', '/api/v1/openapi.json')).body;
  expect(Object.keys(doc.paths).filter((p) => p.endsWith('stream'))).toEqual([]);
});

it('streams an agent’s own tasks and their logs, to operators and to the agent itself only', async () => {
  const agent = await agentOf(a);
  const other = await agentOf(a);
  const job = await putJob(app.pool, a.tenant, jobBody(a.tenant));
  const mine = await putTask(app.pool, a.tenant, taskBody(job, { agentId: agent.id }));
  await putTask(app.pool, a.tenant, taskBody(job, { agentId: agent.id, status: 'succeeded' }));
  const theirs = await putTask(app.pool, a.tenant, taskBody(job, { agentId: other.id }));

  const stream = await connect(`/agents/${agent.id}/task-stream`, { query: `access_token=${agent.credential}` });
  const snapshot = await stream.next((m) => m.type === 'snapshot', 'the snapshot');
  expect(snapshot).toMatchObject({ agentId: agent.id });
  expect(snapshot.tasks.map((t: any) => t.id)).toEqual([mine.id]);

  await appendLog(app.pool, a.tenant, theirs.id, 'not yours\n');
  await notify(app.pool, { tenantId: a.tenant, kind: 'log', jobId: job.id, taskId: theirs.id, agentId: other.id });
  // An event that does not name its agent is checked against the task row.
  await notify(app.pool, { tenantId: a.tenant, kind: 'task', jobId: job.id, taskId: theirs.id });
  const offset = await appendLog(app.pool, a.tenant, mine.id, 'deploying\n');
  await notify(app.pool, { tenantId: a.tenant, kind: 'log', jobId: job.id, taskId: mine.id });
  expect(await stream.next((m) => m.type === 'log', 'its log')).toEqual({ type: 'log', taskId: mine.id, offset, data: 'deploying\n' });

  // A new task for the agent, announced as the workflow announces it.
  const later = await putTask(app.pool, a.tenant, taskBody(job, { agentId: agent.id, attempt: 2 }));
  await notify(app.pool, { tenantId: a.tenant, kind: 'task', jobId: job.id, taskId: later.id, agentId: agent.id });
  expect((await stream.next((m) => m.type === 'task', 'the new task')).task).toMatchObject({ id: later.id, attempt: 2 });
  await putTask(app.pool, a.tenant, { ...mine, version: 2, status: 'succeeded' });
  await notify(app.pool, { tenantId: a.tenant, kind: 'task', jobId: job.id, taskId: mine.id });
  expect((await stream.next((m) => m.type === 'task' && m.task.id === mine.id, 'its task’s end')).task).toMatchObject({ version: 2, status: 'succeeded' });
  expect(stream.messages.some((m) => m.task?.id === theirs.id || m.taskId === theirs.id)).toBe(false);
  stream.close();

  // An operator with deployment:read watches any agent of the tenant.
  const watched = await connect(`/agents/${other.id}/task-stream`, { token: viewer });
  expect((await watched.next((m) => m.type === 'snapshot', 'the snapshot')).tasks.map((t: any) => t.id)).toEqual([theirs.id]);
  watched.close();

  expect(await refusal(connect(`/agents/${other.id}/task-stream`, { token: agent.credential }))).toBe(403);
  expect(await refusal(connect(`/agents/${agent.id}/task-stream`, { token: await b.token('mallory@example.com') }))).toBe(404);
  expect(await refusal(connect(`/agents/${randomUUID()}/task-stream`, { token: viewer }))).toBe(404);
});

it('closes open streams with 1001 when the API stops', async () => {
  const own = await startTestApp({ worker: false });
  let stopped = false;
  try {
    const token = await own.token('viewer@example.com', { roles: ['viewer'] });
    const job = await putJob(own.pool, own.tenant, jobBody(own.tenant));
    const ws = new WebSocket(`${own.url.replace(/^http/, 'ws')}/api/v1/deployment-jobs/${job.id}/stream`, { headers: { authorization: `Bearer ${token}` } });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('message', resolve));
    stopped = true;
    await own.close();
    expect(await closed).toBe(1001);
  } finally {
    if (!stopped) await own.close();
  }
});

it('the event hub listens again after its Postgres connection is cut, and tells every subscriber to read its state again', async () => {
  const hub = new DeploymentEventHub({ databaseUrl: app.config.DATABASE_URL, log: createLogger('test', 'silent'), initialBackoffMs: 50 });
  const tenantId = `t-${randomUUID().slice(0, 8)}`;
  const jobId = randomUUID();
  const events: unknown[] = [];
  let resyncs = 0;
  try {
    await hub.subscribe({ tenantId, onEvent: (e) => events.push(e), onResync: () => resyncs++ });
    expect(hub.isListening).toBe(true);
    await notify(app.pool, { tenantId, kind: 'job', jobId });
    await until('the first event', () => events.length === 1);
    const before = resyncs;
    const pid = hub.backendPid;
    await app.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await until('the hub to listen again', () => hub.isListening && hub.backendPid !== pid && resyncs > before);
    await notify(app.pool, { tenantId, kind: 'log', jobId, taskId: jobId });
    await until('an event after the reconnect', () => events.length === 2);
    expect(events[1]).toEqual({ tenantId, kind: 'log', jobId, taskId: jobId });
  } finally {
    await hub.close();
  }
});

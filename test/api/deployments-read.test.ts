import { createHash, randomUUID } from 'node:crypto';
import { issueAgentCredential } from '../../api/auth/agent-credentials';
import { startTestApp, type TestApp } from '../support/app';
import { appendLog, claim, jobBody, putArtifact, putJob, putTask, taskBody } from '../support/deployment-rows';
import { scene, type Scene } from '../support/promotion-scene';

/**
 * The deployment read model as users see it: jobs listed and filtered, tasks
 * with their log size and ledger claim, logs read from any offset, artifacts
 * downloaded with their digest; another tenant's job is not there, and reading
 * needs deployment:read. Rows are written as the workflow's activities and
 * the agents write them.
 */
let app: TestApp;
let a: Scene;
let b: Scene;
let viewer: string;
let outsider: string;
const envOne = randomUUID();
const envTwo = randomUUID();
const releaseOne = randomUUID();
const promotionOne = randomUUID();
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

const running = () => jobBody(a.tenant, { environmentId: envOne, releaseId: releaseOne, promotionId: promotionOne, createdAt: minutesAgo(30) });
let first: ReturnType<typeof jobBody>;
let second: ReturnType<typeof jobBody>;
let third: ReturnType<typeof jobBody>;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  a = await scene(app);
  b = await scene(app);
  viewer = await a.token('viewer@example.com', { roles: ['viewer'] });
  outsider = await a.token('nobody@example.com', { roles: [], permissions: ['promotion:read'] });
  first = await putJob(app.pool, a.tenant, running());
  second = await putJob(
    app.pool,
    a.tenant,
    jobBody(a.tenant, { kind: 'rollback', promotionId: null, rollbackId: randomUUID(), status: 'deployed', environmentId: envTwo, createdAt: minutesAgo(20), finishedAt: minutesAgo(19) }),
  );
  third = await putJob(app.pool, a.tenant, jobBody(a.tenant, { status: 'failed', environmentId: envOne, createdAt: minutesAgo(10) }));
});
afterAll(() => app?.close());

const ids = (list: any[]) => list.map((j) => j.id);

it('lists jobs newest first, filtered by status, environment, release, promotion and kind', async () => {
  expect(ids(await a.expect(200, 'GET', '/deployment-jobs'))).toEqual([third.id, second.id, first.id]);
  expect(ids(await a.expect(200, 'GET', '/deployment-jobs?sort=created_at'))).toEqual([first.id, second.id, third.id]);
  expect(ids(await a.expect(200, 'GET', '/deployment-jobs?status=deployed'))).toEqual([second.id]);
  expect(ids(await a.expect(200, 'GET', `/deployment-jobs?environmentId=${envOne}`))).toEqual([third.id, first.id]);
  expect(ids(await a.expect(200, 'GET', `/deployment-jobs?releaseId=${releaseOne}`))).toEqual([first.id]);
  expect(ids(await a.expect(200, 'GET', `/deployment-jobs?promotionId=${promotionOne}`))).toEqual([first.id]);
  expect(ids(await a.expect(200, 'GET', '/deployment-jobs?kind=rollback&status='))).toEqual([second.id]);
  expect(await a.expect(200, 'GET', '/deployment-jobs?status=running&kind=rollback')).toEqual([]);

  const page = await a.call('GET', '/deployment-jobs?pageSize=2&page=2', a.admin);
  expect(page.status).toBe(200);
  expect(ids(page.body.data)).toEqual([first.id]);
  expect(page.body.meta.pagination).toMatchObject({ page: 2, pageSize: 2, totalItems: 3, totalPages: 2, hasNext: false, hasPrevious: true });

  // StackFlow: bare records, followed by cursor.
  const one = await a.call('GET', '/prod/api/deployment-jobs?limit=2', a.admin);
  expect(one.status).toBe(200);
  expect(ids(one.body.data)).toEqual([third.id, second.id]);
  expect(one.body.total).toBe(3);
  const two = await a.call('GET', `/prod/api/deployment-jobs?limit=2&cursor=${one.body.next_cursor}`, a.admin);
  expect(ids(two.body.data)).toEqual([first.id]);
  expect(two.body.next_cursor).toBeNull();

  expect((await a.refuse(400, 'GET', '/deployment-jobs?status=sleeping')).code).toBe('VALIDATION_FAILED');
  expect((await a.refuse(400, 'GET', '/deployment-jobs?environmentId=prod')).code).toBe('VALIDATION_FAILED');
});

it('gets a job as its row holds it, and 404 for one that does not exist anywhere', async () => {
  expect(await a.expect(200, 'GET', `/deployment-jobs/${first.id}`, viewer)).toEqual(first);
  expect((await a.call('GET', `/prod/api/deployment-jobs/${second.id}`, a.admin)).body).toEqual(second);
  expect((await a.refuse(404, 'GET', `/deployment-jobs/${randomUUID()}`)).code).toBe('DEPLOYMENT_JOB_NOT_FOUND');
  expect((await a.refuse(400, 'GET', '/deployment-jobs/not-a-uuid')).code).toBe('VALIDATION_FAILED');
});

it('shows a task with its log from the columns, how its hook was stopped, and its ledger claim', async () => {
  const job = await putJob(app.pool, a.tenant, running());
  const early = await putTask(app.pool, a.tenant, taskBody(job, { targetName: 'web-1' }), new Date(Date.now() - 5_000));
  const late = await putTask(app.pool, a.tenant, taskBody(job, { targetName: 'web-1', phase: 'rollback', status: 'cancelled' }));
  await claim(app.pool, a.tenant, early);
  await appendLog(app.pool, a.tenant, early.id, 'deploying\n');
  await appendLog(app.pool, a.tenant, late.id, 'stopping\n', { capped: true, stoppedBy: 'SIGKILL' });

  const tasks = await a.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks`, viewer);
  expect(ids(tasks)).toEqual([early.id, late.id]);
  expect(tasks[1]).toMatchObject({ phase: 'rollback', stoppedBy: 'SIGKILL', log: { size: 9, capped: true, capBytes: 1_048_576 } });

  const detail = await a.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks/${early.id}`, viewer);
  expect(detail).toMatchObject({ id: early.id, jobId: job.id, status: 'running', stoppedBy: null, log: { size: 10, capped: false } });
  expect(detail.ledger).toEqual([
    { jobId: job.id, targetId: early.targetId, phase: 'deploy', attempt: 1, taskId: early.id, agentId: early.agentId, claimedAt: expect.any(String) },
  ]);
  expect((await a.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks/${late.id}`)).ledger).toEqual([]);

  // A task asked for under another job, or a job without tasks yet.
  expect((await a.refuse(404, 'GET', `/deployment-jobs/${first.id}/tasks/${early.id}`)).code).toBe('DEPLOYMENT_TASK_NOT_FOUND');
  expect((await a.refuse(404, 'GET', `/deployment-jobs/${randomUUID()}/tasks/${early.id}`)).code).toBe('DEPLOYMENT_JOB_NOT_FOUND');
  expect(await a.expect(200, 'GET', `/deployment-jobs/${second.id}/tasks`)).toEqual([]);
  expect((await a.refuse(404, 'GET', `/deployment-jobs/${randomUUID()}/tasks`)).code).toBe('DEPLOYMENT_JOB_NOT_FOUND');
});

it('tails a log by character offset, from the middle of a chunk, and says when it is complete', async () => {
  const job = await putJob(app.pool, a.tenant, running());
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  for (const chunk of ['hello ', 'wonderful ', 'wörld ✓\n']) await appendLog(app.pool, a.tenant, task.id, chunk);
  const whole = 'hello wonderful wörld ✓\n';
  const path = `/deployment-jobs/${job.id}/tasks/${task.id}/logs`;

  expect(await a.expect(200, 'GET', path, viewer)).toEqual({ taskId: task.id, offset: 0, nextOffset: whole.length, data: whole, size: whole.length, capped: false, complete: false });
  // Starting inside the second chunk, across into the third.
  expect(await a.expect(200, 'GET', `${path}?offset=8&limit=10`)).toMatchObject({ offset: 8, nextOffset: 18, data: whole.slice(8, 18) });
  expect(await a.expect(200, 'GET', `${path}?offset=18`)).toMatchObject({ offset: 18, nextOffset: whole.length, data: whole.slice(18) });

  // Following it as a client does: from nextOffset, in small pages, until nothing is left.
  let offset = 0;
  let text = '';
  for (let i = 0; i < 20; i++) {
    const page = await a.expect(200, 'GET', `${path}?offset=${offset}&limit=4`);
    if (page.nextOffset === offset) break;
    text += page.data;
    offset = page.nextOffset;
  }
  expect(text).toBe(whole);

  const more = await appendLog(app.pool, a.tenant, task.id, 'done\n');
  expect(await a.expect(200, 'GET', `${path}?offset=${more}`)).toMatchObject({ data: 'done\n', nextOffset: more + 5, complete: false });
  await putTask(app.pool, a.tenant, { ...task, version: 2, status: 'succeeded', finishedAt: new Date().toISOString() });
  expect(await a.expect(200, 'GET', `${path}?offset=${more}`)).toMatchObject({ data: 'done\n', nextOffset: more + 5, size: more + 5, complete: true });
  expect(await a.expect(200, 'GET', `${path}?offset=0&limit=3`)).toMatchObject({ data: 'hel', complete: false });
  expect(await a.expect(200, 'GET', `${path}?offset=999`)).toMatchObject({ data: '', nextOffset: 999 });

  expect((await a.refuse(400, 'GET', `${path}?offset=-1`)).code).toBe('VALIDATION_FAILED');
  expect((await a.refuse(400, 'GET', `${path}?limit=0`)).code).toBe('VALIDATION_FAILED');
});

it('reads a capped log as its head, one marker line for what was dropped, and its tail; pages and a reader left in the hole land on the tail', async () => {
  const job = await putJob(app.pool, a.tenant, running());
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  const head = 'step 1\nstep 2: ';
  const tail = 'step 99\n[tollgate] succeeded\n';
  await appendLog(app.pool, a.tenant, task.id, head);
  await appendLog(app.pool, a.tenant, task.id, tail, { at: 1_000, capped: true });
  const size = 1_000 + tail.length;
  const marker = (n: number) => `\n[tollgate] … ${n} characters of this log were dropped here: past DEPLOY_LOG_CAP_BYTES it keeps its head and its tail …\n`;
  const whole = `${head}${marker(1_000 - head.length)}${tail}`;
  const path = `/deployment-jobs/${job.id}/tasks/${task.id}/logs`;

  expect(await a.expect(200, 'GET', path, viewer)).toEqual({ taskId: task.id, offset: 0, nextOffset: size, data: whole, size, capped: true, complete: false });

  // Followed in small pages: the marker is never split, and nothing of the head or the tail is lost.
  let offset = 0;
  const pages: string[] = [];
  for (let i = 0; i < 40; i++) {
    const page = await a.expect(200, 'GET', `${path}?offset=${offset}&limit=5`);
    if (page.nextOffset === offset) break;
    pages.push(page.data);
    offset = page.nextOffset;
  }
  expect(pages.join('')).toBe(whole);
  expect(pages).toContain(marker(1_000 - head.length));
  expect(offset).toBe(size);

  // A reader whose offset fell into what was since dropped gets the marker for the rest of it, then the tail.
  expect(await a.expect(200, 'GET', `${path}?offset=400`)).toMatchObject({ data: `${marker(600)}${tail}`, nextOffset: size });
  await putTask(app.pool, a.tenant, { ...task, version: 2, status: 'succeeded', finishedAt: new Date().toISOString() });
  expect(await a.expect(200, 'GET', `${path}?offset=${size - 10}`)).toMatchObject({ data: tail.slice(-10), complete: true });
});

it('lists artifacts and serves their bytes with size and sha256 headers', async () => {
  const job = await putJob(app.pool, a.tenant, running());
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  const content = Buffer.from([0, 1, 2, 250, 251, 252, ...Buffer.from('report\n')]);
  const stored = await putArtifact(app.pool, a.tenant, task, 'report "final" ü.bin', content);

  const list = await a.expect(200, 'GET', `/deployment-jobs/${job.id}/artifacts`, viewer);
  expect(list).toEqual([
    {
      id: stored.id,
      taskId: task.id,
      targetId: task.targetId,
      name: 'report "final" ü.bin',
      size: content.length,
      sha256: stored.sha256,
      createdAt: expect.any(String),
      downloadUrl: `/api/v1/deployment-jobs/${job.id}/artifacts/${stored.id}`,
    },
  ]);
  expect((await a.call('GET', `/prod/api/deployment-jobs/${job.id}/artifacts`, a.admin)).body[0].downloadUrl).toBe(`/prod/api/deployment-jobs/${job.id}/artifacts/${stored.id}`);

  const res = await fetch(`${app.url}${list[0].downloadUrl}`, { headers: { authorization: `Bearer ${viewer}` } });
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.equals(content)).toBe(true);
  expect(res.headers.get('content-type')).toBe('application/octet-stream');
  expect(res.headers.get('content-length')).toBe(String(content.length));
  expect(res.headers.get('content-disposition')).toBe(`attachment; filename="report _final_ _.bin"; filename*=UTF-8''report%20%22final%22%20%C3%BC.bin`);
  expect(res.headers.get('etag')).toBe(`"sha256-${createHash('sha256').update(content).digest('hex')}"`);
  expect(res.headers.get('digest')).toBe(`sha-256=${createHash('sha256').update(content).digest('base64')}`);

  expect((await a.refuse(404, 'GET', `/deployment-jobs/${first.id}/artifacts/${stored.id}`)).code).toBe('ARTIFACT_NOT_FOUND');
  expect(await a.expect(200, 'GET', `/deployment-jobs/${first.id}/artifacts`)).toEqual([]);
});

it('answers 404 for every read of another tenant’s job and lists none of it; an agent’s credential reads no job at all', async () => {
  const job = await putJob(app.pool, a.tenant, running());
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  const artifact = await putArtifact(app.pool, a.tenant, task, 'out.txt', Buffer.from('x'));
  const theirs = await b.token('mallory@example.com', { roles: ['release-manager'] });
  const paths = [
    `/deployment-jobs/${job.id}`,
    `/deployment-jobs/${job.id}/tasks`,
    `/deployment-jobs/${job.id}/tasks/${task.id}`,
    `/deployment-jobs/${job.id}/tasks/${task.id}/logs`,
    `/deployment-jobs/${job.id}/artifacts`,
    `/deployment-jobs/${job.id}/artifacts/${artifact.id}`,
  ];
  for (const path of paths) {
    const res = await b.call('GET', path, theirs);
    if (res.status !== 404) throw new Error(`GET ${path}: expected 404, got ${res.status}: ${res.text}`);
  }
  expect(await b.expect(200, 'GET', '/deployment-jobs', theirs)).toEqual([]);
  expect(await b.expect(200, 'GET', `/deployment-jobs?environmentId=${envOne}`, theirs)).toEqual([]);
  // An agent is trusted with its own tasks and nothing else: not another tenant's jobs, not its own tenant's.
  for (const agent of [await agentOf(b), await agentOf(a)]) {
    for (const path of [...paths, '/deployment-jobs']) {
      const res = await a.call('GET', path, agent);
      if (res.status !== 403) throw new Error(`GET ${path}: expected 403, got ${res.status}: ${res.text}`);
    }
  }
});

it('refuses reads without deployment:read, and operator actions without deployment:operate', async () => {
  for (const path of ['/deployment-jobs', `/deployment-jobs/${first.id}`, `/deployment-jobs/${first.id}/tasks`, `/deployment-jobs/${first.id}/artifacts`, '/rollbacks']) {
    expect((await a.refuse(403, 'GET', path, outsider)).details).toMatchObject({ required: 'deployment:read' });
  }
  for (const action of ['retry', 'skip', 'rollback', 'abort', 'cancel']) {
    const body = action === 'cancel' ? { reason: 'because' } : { taskId: randomUUID(), reason: 'because' };
    expect((await a.refuse(403, 'POST', `/deployment-jobs/${first.id}/${action}`, viewer, body)).details).toMatchObject({ required: 'deployment:operate' });
  }
  expect((await a.refuse(401, 'GET', '/deployment-jobs', '')).code).toBe('TOKEN_MISSING');
});

/** An agent of the scene's tenant with its own credential (as registration issues one). */
async function agentOf(s: Scene): Promise<string> {
  const id = randomUUID();
  const { credential, hash } = issueAgentCredential(id);
  await app.pool.query(`INSERT INTO agents (tenant_id, id, name, environment_id, credential_hash, registered_by) VALUES ($1, $2, $3, $4, $5, 'test')`, [
    s.tenant,
    id,
    `agent-${id.slice(0, 8)}`,
    randomUUID(),
    hash,
  ]);
  return credential;
}

import { randomUUID } from 'node:crypto';
import { SA } from '../../domain/search-attributes';
import { workflowId } from '../../domain/workflow-ids';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { connectStream } from '../support/live-stream';
import { appendLines, node, notifyRun, PIPELINE, putRun, putRunArtifact, putTemplate, runBody } from '../support/workflow-runs';

/**
 * The runs API against the real stack: a run starts from a template's version
 * with its parameters checked (every problem named), lists filter and page,
 * commands on a finished or externally ended run answer 409, steps, logs and
 * artifacts answer 404 for what is not there, and the run's WebSocket carries
 * node status changes and new log lines as writers announce them.
 */
let app: TestApp;
let manager: string;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
});
afterAll(() => app?.close());

const call = (method: string, path: string, token: string, body?: unknown, headers?: Record<string, string>) => app.http(method, `/api/v1${path}`, { token, body, headers });

describe('create', () => {
  it('refuses parameters that do not match the template, naming every problem at once', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const res = await call('POST', '/workflow-runs', manager, { templateId, parameters: { region: 'asia', replicas: 'three', colour: 'blue' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.validationErrors.map((v: any) => [v.field, v.code])).toEqual([
      ['parameters.colour', 'unknown_parameter'],
      ['parameters.version', 'required'],
      ['parameters.region', 'invalid_value'],
      ['parameters.replicas', 'invalid_type'],
    ]);
    const { rows } = await app.pool.query('SELECT 1 FROM workflow_runs WHERE tenant_id = $1 AND template_id = $2', [app.tenant, templateId]);
    expect(rows).toHaveLength(0);
  });

  it('answers 404 for a template that does not exist, is deleted, is another tenant’s, or lacks the version asked for', async () => {
    const missing = await call('POST', '/workflow-runs', manager, { templateId: randomUUID(), parameters: {} });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'TEMPLATE_NOT_FOUND']);
    const deleted = await putTemplate(app.pool, app.tenant, [PIPELINE], { deleted: true });
    expect((await call('POST', '/workflow-runs', manager, { templateId: deleted, parameters: { version: '1' } })).body.error.code).toBe('TEMPLATE_NOT_FOUND');
    const foreign = await putTemplate(app.pool, `other-${app.tenant}`, [PIPELINE]);
    expect((await call('POST', '/workflow-runs', manager, { templateId: foreign, parameters: { version: '1' } })).status).toBe(404);
    const mine = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const noVersion = await call('POST', '/workflow-runs', manager, { templateId: mine, parameters: { version: '1' }, version: 7 });
    expect([noVersion.status, noVersion.body.error.code]).toEqual([404, 'TEMPLATE_VERSION_NOT_FOUND']);
  });

  it('refuses a run whose steps need a permission the requester lacks (steps act as the requester): 403 naming each node', async () => {
    const shipping = {
      ...PIPELINE,
      nodes: [
        ...PIPELINE.nodes,
        { id: 'ship', type: 'promote', dependsOn: ['sign_off'], inputs: { releaseId: randomUUID(), environmentId: randomUUID() } },
        { id: 'smoke', type: 'script', dependsOn: ['ship'], inputs: { environmentId: randomUUID(), command: 'true' } },
      ],
    } as typeof PIPELINE;
    const templateId = await putTemplate(app.pool, app.tenant, [shipping]);
    // A developer may request runs and promotions, but not operate deployments (a script runs on an agent).
    const developer = await app.token('dev@example.com', { roles: ['developer'] });
    const res = await call('POST', '/workflow-runs', developer, { templateId, parameters: { version: '1' } });
    expect([res.status, res.body.error.code]).toEqual([403, 'STEP_NOT_PERMITTED']);
    expect(res.body.error.details).toMatchObject({ required: ['deployment:operate'], nodes: [{ nodeId: 'smoke', type: 'script', permission: 'deployment:operate' }] });
    expect(res.body.error.message).toContain('release-manager');
    const { rows } = await app.pool.query('SELECT 1 FROM workflow_runs WHERE tenant_id = $1 AND template_id = $2', [app.tenant, templateId]);
    expect(rows).toHaveLength(0);
    // A release manager holds both, so the same template starts.
    expect((await call('POST', '/workflow-runs', manager, { templateId, parameters: { version: '1' } })).status).toBe(201);
  });

  it('refuses a template version that no longer validates with 422 TEMPLATE_INVALID', async () => {
    const broken = { ...PIPELINE, nodes: [...PIPELINE.nodes, { id: 'ship', type: 'teleport', inputs: {} }] } as unknown as typeof PIPELINE;
    const templateId = await putTemplate(app.pool, app.tenant, [broken]);
    const res = await call('POST', '/workflow-runs', manager, { templateId, parameters: { version: '1' } });
    expect([res.status, res.body.error.code]).toEqual([422, 'TEMPLATE_INVALID']);
    expect(res.body.error.details.problems).toEqual([expect.objectContaining({ nodeId: 'ship', field: expect.stringMatching(/^nodes\.2\.type/) })]);
  });

  it('starts a run of the current version, or of the version asked for, with defaults applied and every node pending', async () => {
    const v2 = { ...PIPELINE, nodes: [PIPELINE.nodes[0]] };
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE, v2]);
    const res = await call('POST', '/workflow-runs', manager, { templateId, parameters: { version: '2.0.0' } });
    expect(res.status).toBe(201);
    const run = res.body.data;
    expect(res.headers.get('location')).toBe(`/api/v1/workflow-runs/${run.id}`);
    expect(run).toMatchObject({ templateId, templateVersion: 2, status: 'running', version: 1, parameters: { version: '2.0.0', region: 'eu', replicas: 2 }, requestedBy: 'rm@example.com' });
    expect(run.nodes.map((n: any) => [n.nodeId, n.phase, n.status])).toEqual([
      ['build', 'main', 'pending'],
      ['tell', 'finally', 'pending'],
    ]);
    expect((await call('GET', `/workflow-runs/${run.id}`, viewer)).body.data).toEqual(run);

    const handle = app.client.workflow.getHandle(workflowId(app.tenant, 'template-run', run.id));
    const described = await handle.describe();
    expect(described.type).toBe('templateRun');
    expect(described.typedSearchAttributes.get(SA.kind)).toBe('template-run');
    expect(described.typedSearchAttributes.get(SA.state)).toBe('running');
    expect(described.typedSearchAttributes.get(SA.title)).toBe('Run of release pipeline v2');

    const older = await call('POST', '/workflow-runs', manager, { templateId, parameters: { version: '1.0.0', region: 'us' }, version: 1 });
    expect(older.body.data).toMatchObject({ templateVersion: 1, parameters: { region: 'us' } });
    expect(older.body.data.nodes.map((n: any) => n.nodeId)).toEqual(['build', 'sign_off', 'tell']);
  });

  it('starts one run for a create retried with the same Idempotency-Key', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const body = { templateId, parameters: { version: '3.0.0' } };
    const key = { 'idempotency-key': randomUUID() };
    const first = await call('POST', '/workflow-runs', manager, body, key);
    const again = await call('POST', '/workflow-runs', manager, body, key);
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body.data.id).toBe(first.body.data.id);
    const other = await call('POST', '/workflow-runs', manager, { ...body, parameters: { version: '4' } }, key);
    expect([other.status, other.body.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    const { rows } = await app.pool.query('SELECT id FROM workflow_runs WHERE tenant_id = $1 AND template_id = $2', [app.tenant, templateId]);
    expect(rows).toHaveLength(1);
  });

  it('needs template-run:create', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    expect((await call('POST', '/workflow-runs', viewer, { templateId, parameters: { version: '1' } })).status).toBe(403);
  });
});

describe('list', () => {
  it('filters by template, status and creation time, and pages with both dialects', async () => {
    const tenant = `runs-${randomUUID().slice(0, 8)}`;
    const token = await app.token('rm@example.com', { tenant, roles: ['viewer'] });
    const t1 = await putTemplate(app.pool, tenant, [PIPELINE]);
    const t2 = await putTemplate(app.pool, tenant, [PIPELINE]);
    const at = (minute: number) => `2026-01-01T10:${String(minute).padStart(2, '0')}:00.000Z`;
    const runs = [
      runBody(tenant, t1, { createdAt: at(1), status: 'running' }),
      runBody(tenant, t1, { createdAt: at(2), status: 'succeeded' }),
      runBody(tenant, t2, { createdAt: at(3), status: 'failed' }),
      runBody(tenant, t1, { createdAt: at(4), status: 'succeeded' }),
      runBody(tenant, t2, { createdAt: at(5), status: 'running' }),
    ];
    for (const r of runs) await putRun(app.pool, r);
    const ids = (res: any) => res.body.data.map((r: any) => r.id);
    const byIndex = (...n: number[]) => n.map((i) => runs[i].id);

    expect(ids(await call('GET', '/workflow-runs', token))).toEqual(byIndex(4, 3, 2, 1, 0));
    expect(ids(await call('GET', `/workflow-runs?templateId=${t1}`, token))).toEqual(byIndex(3, 1, 0));
    expect(ids(await call('GET', '/workflow-runs?status=succeeded', token))).toEqual(byIndex(3, 1));
    expect(ids(await call('GET', `/workflow-runs?templateId=${t2}&status=running`, token))).toEqual(byIndex(4));
    expect(ids(await call('GET', `/workflow-runs?createdAfter=${at(2)}&createdBefore=${at(5)}`, token))).toEqual(byIndex(3, 2, 1));
    expect(ids(await call('GET', '/workflow-runs?sort=created_at', token))).toEqual(byIndex(0, 1, 2, 3, 4));

    const page = await call('GET', '/workflow-runs?pageSize=2&page=2', token);
    expect(ids(page)).toEqual(byIndex(2, 1));
    expect(page.body.meta.pagination).toMatchObject({ page: 2, pageSize: 2, totalItems: 5, hasNext: true });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await app.http('GET', `/prod/api/workflow-runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((r: any) => r.id));
      cursor = res.body.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(byIndex(4, 3, 2, 1, 0));

    expect((await call('GET', '/workflow-runs?status=asleep', token)).status).toBe(400);
    expect((await call('GET', '/workflow-runs?createdAfter=yesterday', token)).status).toBe(400);
  });
});

describe('commands', () => {
  it('answers 409 RUN_FINISHED to pause, resume or cancel a finished run, and 404 for one that does not exist', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const run = await putRun(app.pool, runBody(app.tenant, templateId, { status: 'succeeded', endedAt: new Date().toISOString(), version: 5 }));
    for (const command of ['pause', 'resume', 'cancel']) {
      const res = await call('POST', `/workflow-runs/${run.id}/${command}`, manager, {});
      expect([command, res.status, res.body.error.code, res.body.error.details?.currentStatus]).toEqual([command, 409, 'RUN_FINISHED', 'succeeded']);
    }
    const missing = await call('POST', `/workflow-runs/${randomUUID()}/pause`, manager);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'RUN_NOT_FOUND']);
  });

  it('answers 409 WORKFLOW_ENDED_OUTSIDE for a running run whose workflow was terminated in Temporal', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const created = (await call('POST', '/workflow-runs', manager, { templateId, parameters: { version: '1' } })).body.data;
    await app.client.workflow.getHandle(workflowId(app.tenant, 'template-run', created.id)).terminate('cleaning up');
    const res = await call('POST', `/workflow-runs/${created.id}/pause`, manager, { reason: 'hold on' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'WORKFLOW_ENDED_OUTSIDE', details: { currentState: 'failed', previousState: 'running', workflow: { how: 'terminated', reason: 'cleaning up' } } });
    // The command that met the closed workflow marked the run, as the sweep would.
    expect((await call('GET', `/workflow-runs/${created.id}`, manager)).body.data).toMatchObject({ status: 'failed', statusReason: expect.stringContaining('cleaning up') });
  });

  it('needs template-run:operate for pause, resume and cancel', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const run = await putRun(app.pool, runBody(app.tenant, templateId));
    for (const command of ['pause', 'resume', 'cancel']) expect((await call('POST', `/workflow-runs/${run.id}/${command}`, viewer)).status).toBe(403);
  });

  it('refuses a decision on a node that is not an approval step, or that the run does not have', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const run = await putRun(app.pool, runBody(app.tenant, templateId));
    const wrong = await call('POST', `/workflow-runs/${run.id}/steps/build/approve`, viewer, {});
    expect([wrong.status, wrong.body.error.code]).toEqual([422, 'NOT_AN_APPROVAL_STEP']);
    const absent = await call('POST', `/workflow-runs/${run.id}/steps/nowhere/reject`, viewer, {});
    expect([absent.status, absent.body.error.code]).toEqual([404, 'NODE_NOT_FOUND']);
    expect((await call('POST', `/workflow-runs/${run.id}/steps/not-a-node!/approve`, viewer, {})).status).toBe(400);
  });
});

describe('steps, logs and artifacts', () => {
  it('serves each node, its log lines paged by sequence (per forEach item) and its artifacts; 404 for what is not there', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const run = await putRun(app.pool, runBody(app.tenant, templateId, { nodes: [node('build', 'wait', { status: 'succeeded', attempts: 1 }), node('sign_off', 'approval')] }));
    expect((await call('GET', `/workflow-runs/${run.id}/steps`, viewer)).body.data.map((n: any) => n.nodeId)).toEqual(['build', 'sign_off']);
    expect((await call('GET', `/workflow-runs/${run.id}/steps/build`, viewer)).body.data).toMatchObject({ nodeId: 'build', status: 'succeeded', attempts: 1 });

    await appendLines(app.pool, run, 'build', ['one', 'two', 'three']);
    await appendLines(app.pool, run, 'build', ['item zero'], 0);
    const first = (await call('GET', `/workflow-runs/${run.id}/steps/build/logs?limit=2`, viewer)).body.data;
    expect(first.lines.map((l: any) => [l.seq, l.line, l.itemIndex])).toEqual([
      [1, 'one', null],
      [2, 'two', null],
    ]);
    expect(first.nextAfterSeq).toBe(2);
    const rest = (await call('GET', `/workflow-runs/${run.id}/steps/build/logs?afterSeq=2`, viewer)).body.data;
    expect([rest.lines.map((l: any) => l.line), rest.nextAfterSeq]).toEqual([['three'], null]);
    const item = (await call('GET', `/workflow-runs/${run.id}/steps/build/logs?itemIndex=0`, viewer)).body.data;
    expect(item.lines.map((l: any) => [l.line, l.itemIndex])).toEqual([['item zero', 0]]);

    const artifactId = await putRunArtifact(app.pool, run, 'build', 'report.json', Buffer.from('{"ok":true}'));
    const artifacts = (await call('GET', `/workflow-runs/${run.id}/steps/build/artifacts`, viewer)).body.data;
    expect(artifacts).toEqual([
      expect.objectContaining({ id: artifactId, nodeId: 'build', name: 'report.json', size: 11, downloadUrl: `/api/v1/workflow-runs/${run.id}/steps/build/artifacts/${artifactId}` }),
    ]);
    const download = await app.http('GET', artifacts[0].downloadUrl, { token: viewer });
    expect([download.status, download.text]).toEqual([200, '{"ok":true}']);
    expect((await call('GET', `/workflow-runs/${run.id}/steps/sign_off/artifacts`, viewer)).body.data).toEqual([]);

    const missingRun = randomUUID();
    for (const path of [`/workflow-runs/${missingRun}`, `/workflow-runs/${missingRun}/steps`, `/workflow-runs/${missingRun}/steps/build/logs`]) {
      expect([path, (await call('GET', path, viewer)).body.error.code]).toEqual([path, 'RUN_NOT_FOUND']);
    }
    for (const path of ['nowhere', 'nowhere/logs', 'nowhere/artifacts', `nowhere/artifacts/${artifactId}`]) {
      const res = await call('GET', `/workflow-runs/${run.id}/steps/${path}`, viewer);
      expect([path, res.status, res.body.error.code]).toEqual([path, 404, 'NODE_NOT_FOUND']);
    }
    const otherArtifact = await call('GET', `/workflow-runs/${run.id}/steps/sign_off/artifacts/${artifactId}`, viewer);
    expect([otherArtifact.status, otherArtifact.body.error.code]).toEqual([404, 'ARTIFACT_NOT_FOUND']);
    const foreign = await app.token('x@example.com', { tenant: `other-${app.tenant}`, roles: ['viewer'] });
    expect((await call('GET', `/workflow-runs/${run.id}/steps/build/logs`, foreign)).status).toBe(404);
  });
});

const connect = (path: string, token?: string) => connectStream(app.url, path, { token });

describe('stream', () => {
  it('sends a snapshot, then node status changes and new log lines as they are announced, and closes 1000 when the run finishes', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const run = await putRun(app.pool, runBody(app.tenant, templateId));
    await appendLines(app.pool, run, 'build', ['before the socket']);

    const stream = await connect(`/workflow-runs/${run.id}/stream`, viewer);
    expect((await stream.next((m) => m.type === 'snapshot', 'the snapshot')).run).toEqual(run);
    expect((await stream.next((m) => m.type === 'log', 'the backlog')).lines.map((l: any) => l.line)).toEqual(['before the socket']);

    const moved = await putRun(app.pool, { ...run, version: 2, nodes: [node('build', 'wait', { status: 'running', attempts: 1 }), ...run.nodes.slice(1)] });
    await notifyRun(app.pool, { tenantId: app.tenant, runId: run.id, kind: 'run' });
    const change = await stream.next((m) => m.type === 'run', 'the node status change');
    expect(change.changed).toEqual(['build']);
    expect(change.run.nodes[0]).toMatchObject({ nodeId: 'build', status: 'running' });

    // Another run's events, and another tenant's, move nothing here.
    await notifyRun(app.pool, { tenantId: app.tenant, runId: randomUUID(), kind: 'run' });
    await notifyRun(app.pool, { tenantId: `other-${app.tenant}`, runId: run.id, kind: 'run' });

    await appendLines(app.pool, run, 'build', ['deploying', 'deployed']);
    await notifyRun(app.pool, { tenantId: app.tenant, runId: run.id, kind: 'log', nodeId: 'build' });
    const log = await stream.next((m) => m.type === 'log', 'the new lines');
    expect(log).toMatchObject({ nodeId: 'build', lines: [{ seq: 2, line: 'deploying' }, { seq: 3, line: 'deployed' }] });

    await putRun(app.pool, { ...moved, version: 3, status: 'succeeded', endedAt: new Date().toISOString(), nodes: moved.nodes.map((n) => ({ ...n, status: 'succeeded' as const })) });
    await notifyRun(app.pool, { tenantId: app.tenant, runId: run.id, kind: 'run' });
    const last = await stream.next((m) => m.type === 'run' && m.run.status === 'succeeded', 'the final state');
    expect(last.changed).toEqual(['build', 'sign_off', 'tell']);
    await eventually(() => expect(stream.closed?.code).toBe(1000), { timeoutMs: 10_000 });
    expect(stream.messages.filter((m) => m.type === 'run')).toHaveLength(2);
  });

  it('skips the lines so far with ?logs=new, and refuses before the upgrade what it would refuse on any route', async () => {
    const templateId = await putTemplate(app.pool, app.tenant, [PIPELINE]);
    const run = await putRun(app.pool, runBody(app.tenant, templateId));
    await appendLines(app.pool, run, 'build', ['old']);
    const stream = await connectStream(app.url, `/workflow-runs/${run.id}/stream`, { token: viewer, query: 'logs=new' });
    await stream.next((m) => m.type === 'snapshot', 'the snapshot');
    await appendLines(app.pool, run, 'build', ['new']);
    await notifyRun(app.pool, { tenantId: app.tenant, runId: run.id, kind: 'log', nodeId: 'build' });
    expect((await stream.next((m) => m.type === 'log', 'the new line')).lines.map((l: any) => l.line)).toEqual(['new']);
    stream.close();

    const status = (p: Promise<unknown>) => p.then(() => 101, (err: { status?: number }) => err.status);
    expect(await status(connect(`/workflow-runs/${run.id}/stream`))).toBe(401);
    const nobody = await app.token('nobody@example.com', { roles: [] });
    expect(await status(connect(`/workflow-runs/${run.id}/stream`, nobody))).toBe(403);
    expect(await status(connect(`/workflow-runs/${randomUUID()}/stream`, viewer))).toBe(404);
    const foreign = await app.token('x@example.com', { tenant: `other-${app.tenant}`, roles: ['viewer'] });
    expect(await status(connect(`/workflow-runs/${run.id}/stream`, foreign))).toBe(404);
    expect(await status(connectStream(app.url, `/workflow-runs/${run.id}/stream`, { token: viewer, query: 'logs=some' }))).toBe(400);
  });
});

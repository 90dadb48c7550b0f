import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { workflowId } from '../../domain/workflow-ids';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { newDigest, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/**
 * POST /rollbacks goes back to the release an environment ran before its
 * current one (or the release named) by starting a new deployment job; the
 * rollback row says from what to what, who and why. Nothing to go back to is
 * a 422, an unknown environment or release a 404.
 */
let app: TestApp;
let a: Scene;
let b: Scene;
let st: Stage;
let v2: any;
let v3: any;
let operator: string;
const hoursAgo = (n: number) => new Date(Date.now() - n * 3_600_000);
const WORKFLOW_WRITTEN = existsSync(path.join(__dirname, '../../workflows/deployments/deployment-job.ts'));

beforeAll(async () => {
  app = await startTestApp();
  a = await scene(app);
  b = await scene(app);
  st = await stage(a, { component: 'shop' });
  v2 = await release(a, st, '2.0.0');
  v3 = await release(a, st, '3.0.0');
  operator = await a.token('sre@example.com', { roles: ['sre'] });
});
afterAll(() => app?.close());

async function release(s: Scene, on: Stage, version: string) {
  await s.expect(200, 'POST', `/components/${on.component.id}/sync-versions`, s.admin, { versions: [{ version, digest: newDigest() }] });
  return s.expect(201, 'POST', '/releases', s.admin, { name: `${on.component.name}-v${version}`, version, components: [{ componentId: on.component.id, version }] });
}

async function deployed(s: Scene, environmentId: string, releaseId: string, at: Date, status = 'deployed') {
  await app.pool.query('INSERT INTO release_deployments (tenant_id, release_id, environment_id, status, deployed_at) VALUES ($1, $2, $3, $4, $5)', [s.tenant, releaseId, environmentId, status, at]);
}

const environment = (name: string, order: number) => a.expect(201, 'POST', '/environments', a.admin, { name, order, requiredApprovals: 0 });
/** A freeze of the environment that started a minute ago and lasts an hour. */
const freeze = (s: Scene, envId: string) =>
  s.expect(201, 'POST', `/environments/${envId}/freeze-windows`, s.admin, { name: 'Peak', reason: 'sale', start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 3_600_000).toISOString() });

it('goes back to the release deployed before the current one: the row, the audit entry, the Location and the job', async () => {
  const env = await environment('Staging', 10);
  await deployed(a, env.id, st.release.id, hoursAgo(5));
  await deployed(a, env.id, v2.id, hoursAgo(4));
  await deployed(a, env.id, v3.id, hoursAgo(3), 'failed');
  await deployed(a, env.id, v2.id, hoursAgo(2));

  const res = await a.call('POST', '/rollbacks', operator, { environmentId: env.id, reason: '  checkout errors since 2.0.0  ' });
  expect(res.status).toBe(201);
  const rollback = res.body.data;
  expect(rollback).toEqual({
    id: expect.any(String),
    environmentId: env.id,
    releaseId: st.release.id,
    fromReleaseId: v2.id,
    jobId: expect.any(String),
    reason: 'checkout errors since 2.0.0',
    requestedBy: 'sre@example.com',
    freezeOverride: null,
    createdAt: expect.any(String),
  });
  expect(rollback.jobId).not.toBe(rollback.id);
  expect(res.headers.get('location')).toBe(`/api/v1/rollbacks/${rollback.id}`);
  expect(await a.expect(200, 'GET', res.headers.get('location')!, a.admin)).toEqual(rollback);
  expect((await b.refuse(404, 'GET', `/rollbacks/${rollback.id}`, await b.token('mallory@example.com'))).code).toBe('ROLLBACK_NOT_FOUND');

  const row = (await app.pool.query('SELECT * FROM rollbacks WHERE tenant_id = $1 AND id = $2', [a.tenant, rollback.id])).rows[0];
  expect(row).toMatchObject({ environment_id: env.id, release_id: st.release.id, from_release_id: v2.id, job_id: rollback.jobId, requested_by: 'sre@example.com' });
  const audit = await app.pool.query(`SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'rollback.create'`, [a.tenant, rollback.id]);
  expect(audit.rows).toEqual([{ actor: 'sre@example.com', after: rollback }]);

  // The job is a deploymentJob workflow, started with what the rollback decided.
  const handle = app.client.workflow.getHandle(workflowId(a.tenant, 'deployment', rollback.jobId));
  const started = (await handle.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
  expect(started.workflowType!.name).toBe('deploymentJob');
  expect(started.taskQueue!.name).toBe(app.config.TEMPORAL_TASK_QUEUE);
  const [input] = (await app.decode(started.input!.payloads!)).map((p) => defaultPayloadConverter.fromPayload<any>(p));
  expect(input).toMatchObject({
    tenantId: a.tenant,
    jobId: rollback.jobId,
    kind: 'rollback',
    rollbackId: rollback.id,
    environmentId: env.id,
    releaseId: st.release.id,
    requestedBy: 'sre@example.com',
    reason: 'checkout errors since 2.0.0',
    settings: { heartbeatTimeoutMs: app.config.DEPLOY_HEARTBEAT_TIMEOUT, logCapBytes: app.config.DEPLOY_LOG_CAP_BYTES },
  });
  if (WORKFLOW_WRITTEN) {
    // Once the workflow runs, the job reads back from the API (its row, or its workflow's answer before the first write).
    const job = await eventually(async () => {
      const read = await a.call('GET', `/deployment-jobs/${rollback.jobId}`, operator);
      expect([read.status, read.text]).toEqual([200, expect.any(String)]);
      return read.body.data;
    });
    expect(job).toMatchObject({ id: rollback.jobId, kind: 'rollback', rollbackId: rollback.id, releaseId: st.release.id, environmentId: env.id });
  }
});

it('goes to the release named when the environment ran it before, even the current one', async () => {
  const env = await environment('Canary', 11);
  await deployed(a, env.id, v2.id, hoursAgo(2));
  await deployed(a, env.id, v3.id, hoursAgo(1));
  expect(await a.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, releaseId: v3.id, reason: 'repair drift' })).toMatchObject({ releaseId: v3.id, fromReleaseId: v3.id });
  expect(await a.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, releaseId: v2.id, reason: 'back one' })).toMatchObject({ releaseId: v2.id, fromReleaseId: v3.id });
});

it('refuses a release the environment never ran (awaiting approval, deprecated, badly scanned): that is a promotion, 422 NOT_A_PREVIOUS_RELEASE', async () => {
  // The first environment of the pipeline, where a promotion of 4.0.0 waits for its approval.
  const env = st.env;
  await deployed(a, env.id, st.release.id, hoursAgo(3));
  // 3.0.0 was tried there and failed: that is not having run it.
  await deployed(a, env.id, v3.id, hoursAgo(2), 'failed');
  const waiting = await release(a, st, '4.0.0');
  const promotion = await a.expect(201, 'POST', '/promotions', a.admin, { releaseId: waiting.id, targetEnvironmentId: env.id, reason: 'wants approval' });
  const scanned = await release(a, st, '5.0.0');
  await a.expect(200, 'PUT', `/releases/${scanned.id}`, a.admin, { securityScan: { criticalCount: 9, highCount: 9 } });
  await a.expect(200, 'POST', `/releases/${scanned.id}/deprecate`, a.admin, { reason: 'vulnerable' });
  await freeze(a, env.id);
  const manager = await a.token('rm@example.com', { roles: ['release-manager'] });
  for (const [who, releaseId] of [[operator, waiting.id], [operator, scanned.id], [operator, v3.id], [manager, waiting.id], [manager, v2.id]] as const) {
    const err = await a.refuse(422, 'POST', '/rollbacks', who, { environmentId: env.id, releaseId, reason: 'not really a rollback' });
    expect(err).toMatchObject({ code: 'NOT_A_PREVIOUS_RELEASE', details: { releaseId, environmentId: env.id } });
    expect(err.message).toContain('request a promotion (POST /promotions)');
  }
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM rollbacks WHERE tenant_id = $1 AND environment_id = $2', [a.tenant, env.id]);
  expect(rows[0].n).toBe(0);
  const jobs = await app.pool.query('SELECT count(*)::int AS n FROM deployment_jobs WHERE tenant_id = $1 AND environment_id = $2', [a.tenant, env.id]);
  expect(jobs.rows[0].n).toBe(0);
  expect((await a.expect(200, 'GET', `/promotions/${promotion.id}`)).status).toBe('awaiting_approval');
});

it('during a freeze: 403 FREEZE_ACTIVE without deployment:override-freeze; with it, the override is recorded in the row, the audit entry and the job', async () => {
  const env = await environment('Frozen', 14);
  await deployed(a, env.id, st.release.id, hoursAgo(2));
  await deployed(a, env.id, v2.id, hoursAgo(1));
  // A target, and another job holding the environment: this one is created, queued, and stays so.
  await app.pool.query('INSERT INTO targets (tenant_id, id, environment_id, name) VALUES ($1, $2, $3, $4)', [a.tenant, randomUUID(), env.id, `frozen-${randomUUID().slice(0, 6)}`]);
  await app.pool.query('INSERT INTO environment_deploy_slots (tenant_id, environment_id, job_id) VALUES ($1, $2, $3)', [a.tenant, env.id, randomUUID()]);
  const window = await freeze(a, env.id);
  const body = { environmentId: env.id, releaseId: st.release.id, reason: 'checkout is down' };
  const refused = await a.refuse(403, 'POST', '/rollbacks', operator, body);
  expect(refused).toMatchObject({ code: 'FREEZE_ACTIVE', details: { required: 'deployment:override-freeze', freeze: { windowId: window.id, name: 'Peak', end: window.end } } });
  expect(refused.message).toContain('Freeze "Peak" (sale) is active');
  expect((await app.pool.query('SELECT count(*)::int AS n FROM rollbacks WHERE tenant_id = $1 AND environment_id = $2', [a.tenant, env.id])).rows[0].n).toBe(0);

  const manager = await a.token('rm@example.com', { roles: ['release-manager'] });
  const rollback = await a.expect(201, 'POST', '/rollbacks', manager, body);
  const override = { windowId: window.id, name: 'Peak', start: window.start, end: window.end, by: 'rm@example.com', reason: 'checkout is down' };
  expect(rollback).toMatchObject({ releaseId: st.release.id, reason: 'checkout is down', freezeOverride: override });
  expect(await a.expect(200, 'GET', `/rollbacks/${rollback.id}`)).toEqual(rollback);
  const audit = await app.pool.query(`SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'rollback.create'`, [a.tenant, rollback.id]);
  expect(audit.rows).toEqual([{ actor: 'rm@example.com', after: rollback }]);
  const started = (await app.client.workflow.getHandle(workflowId(a.tenant, 'deployment', rollback.jobId)).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
  const [input] = (await app.decode(started.input!.payloads!)).map((p) => defaultPayloadConverter.fromPayload<any>(p));
  expect(input.reason).toBe(`checkout is down [overrides freeze "Peak" until ${window.end}, by rm@example.com]`);
  // The job's own audit trail keeps what it was started for.
  const created = await eventually(async () => {
    const { rows } = await app.pool.query(`SELECT after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'deployment_job.create'`, [a.tenant, rollback.jobId]);
    expect(rows).toHaveLength(1);
    return rows[0].after;
  });
  expect(created).toMatchObject({ kind: 'rollback', rollbackId: rollback.id, reason: input.reason });
  await a.expect(200, 'POST', `/deployment-jobs/${rollback.jobId}/cancel`, manager, { reason: 'done' });
});

it('a retry during a freeze meets the same check: 403 FREEZE_ACTIVE, 422 without a reason, then on to the workflow', async () => {
  const env = await environment('Retried', 15);
  await deployed(a, env.id, st.release.id, hoursAgo(2));
  await deployed(a, env.id, v2.id, hoursAgo(1));
  await app.pool.query('INSERT INTO targets (tenant_id, id, environment_id, name) VALUES ($1, $2, $3, $4)', [a.tenant, randomUUID(), env.id, `retried-${randomUUID().slice(0, 6)}`]);
  // Another job holds the environment, so this one waits its turn.
  await app.pool.query('INSERT INTO environment_deploy_slots (tenant_id, environment_id, job_id) VALUES ($1, $2, $3)', [a.tenant, env.id, randomUUID()]);
  const { jobId } = await a.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, reason: 'bad deploy' });
  await eventually(async () => expect((await a.expect(200, 'GET', `/deployment-jobs/${jobId}`, operator)).status).toBe('queued'));
  await freeze(a, env.id);
  const taskId = randomUUID();
  expect(await a.refuse(403, 'POST', `/deployment-jobs/${jobId}/retry`, operator, { taskId, reason: 'again' })).toMatchObject({ code: 'FREEZE_ACTIVE', details: { required: 'deployment:override-freeze' } });
  const manager = await a.token('rm@example.com', { roles: ['release-manager'] });
  expect((await a.refuse(422, 'POST', `/deployment-jobs/${jobId}/retry`, manager, { taskId })).code).toBe('FREEZE_OVERRIDE_NEEDS_REASON');
  // Cleared: the workflow answers (this job is not paused).
  expect((await a.refuse(409, 'POST', `/deployment-jobs/${jobId}/retry`, manager, { taskId, reason: 'hotfix target' })).code).toBe('JOB_NOT_PAUSED');
  // Skip changes nothing on the targets: no freeze check.
  expect((await a.refuse(409, 'POST', `/deployment-jobs/${jobId}/skip`, operator, { taskId })).code).toBe('JOB_NOT_PAUSED');
  await a.expect(200, 'POST', `/deployment-jobs/${jobId}/cancel`, operator, { reason: 'done' });
});

it('answers 422 NO_PREVIOUS_RELEASE when nothing other than the current release was deployed before it', async () => {
  const empty = await environment('Empty', 20);
  expect(await a.refuse(422, 'POST', '/rollbacks', operator, { environmentId: empty.id, reason: 'x' })).toMatchObject({ code: 'NO_PREVIOUS_RELEASE', details: { currentReleaseId: null } });
  const once = await environment('Once', 21);
  await deployed(a, once.id, v2.id, hoursAgo(3));
  await deployed(a, once.id, v3.id, hoursAgo(2), 'failed');
  await deployed(a, once.id, v2.id, hoursAgo(1));
  expect(await a.refuse(422, 'POST', '/rollbacks', operator, { environmentId: once.id, reason: 'x' })).toMatchObject({ code: 'NO_PREVIOUS_RELEASE', details: { currentReleaseId: v2.id } });
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM rollbacks WHERE tenant_id = $1 AND environment_id = ANY($2::uuid[])', [a.tenant, [empty.id, once.id]]);
  expect(rows[0].n).toBe(0);
});

it('answers 404 for an unknown or another tenant’s environment or release, 400 for a bad body, 403 without deployment:operate', async () => {
  const env = await environment('Prod', 30);
  await deployed(a, env.id, st.release.id, hoursAgo(2));
  await deployed(a, env.id, v2.id, hoursAgo(1));
  const theirs = await stage(b, { component: 'theirs' });
  const mallory = await b.token('mallory@example.com', { roles: ['release-manager'] });
  expect((await a.refuse(404, 'POST', '/rollbacks', operator, { environmentId: randomUUID(), reason: 'x' })).code).toBe('ENVIRONMENT_NOT_FOUND');
  expect((await a.refuse(404, 'POST', '/rollbacks', operator, { environmentId: theirs.env.id, reason: 'x' })).code).toBe('ENVIRONMENT_NOT_FOUND');
  expect((await a.refuse(404, 'POST', '/rollbacks', operator, { environmentId: env.id, releaseId: randomUUID(), reason: 'x' })).code).toBe('RELEASE_NOT_FOUND');
  expect((await a.refuse(404, 'POST', '/rollbacks', operator, { environmentId: env.id, releaseId: theirs.release.id, reason: 'x' })).code).toBe('RELEASE_NOT_FOUND');
  expect((await b.refuse(404, 'POST', '/rollbacks', mallory, { environmentId: env.id, reason: 'x' })).code).toBe('ENVIRONMENT_NOT_FOUND');

  for (const body of [
    { environmentId: env.id },
    { environmentId: env.id, reason: '   ' },
    { environmentId: env.id, reason: 'a\u0000b' },
    { environmentId: env.id, reason: 'half \ud800 a pair' },
    { environmentId: env.id, reason: 'x'.repeat(2_001) },
    { environmentId: 'prod', reason: 'x' },
    { environmentId: env.id, reason: 'x', force: true },
  ]) {
    expect((await a.refuse(400, 'POST', '/rollbacks', operator, body)).code).toBe('VALIDATION_FAILED');
  }
  const viewer = await a.token('viewer@example.com', { roles: ['viewer'] });
  expect((await a.refuse(403, 'POST', '/rollbacks', viewer, { environmentId: env.id, reason: 'x' })).details).toMatchObject({ required: 'deployment:operate' });
});

it('counts a retried request with its Idempotency-Key once, and refuses the key for another request', async () => {
  const env = await environment('Keyed', 40);
  await deployed(a, env.id, st.release.id, hoursAgo(2));
  await deployed(a, env.id, v2.id, hoursAgo(1));
  const body = { environmentId: env.id, reason: 'retry me' };
  const headers = { 'Idempotency-Key': `rb-${randomUUID()}` };
  const first = await a.call('POST', '/rollbacks', operator, body, headers);
  const again = await a.call('POST', '/rollbacks', operator, body, headers);
  expect([first.status, again.status]).toEqual([201, 201]);
  expect(again.body.data).toEqual(first.body.data);
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM rollbacks WHERE tenant_id = $1 AND environment_id = $2', [a.tenant, env.id]);
  expect(rows[0].n).toBe(1);
  const other = await a.call('POST', '/rollbacks', operator, { ...body, reason: 'something else' }, headers);
  expect(other.status).toBe(422);
  expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
});

it('lists rollbacks newest first, by environment, and only the tenant’s own', async () => {
  const env = await environment('Listed', 50);
  await deployed(a, env.id, st.release.id, hoursAgo(2));
  await deployed(a, env.id, v2.id, hoursAgo(1));
  const one = await a.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, reason: 'one' });
  const two = await a.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, reason: 'two' });
  expect((await a.expect(200, 'GET', `/rollbacks?environmentId=${env.id}`)).map((r: any) => r.id)).toEqual([two.id, one.id]);
  expect((await a.expect(200, 'GET', `/rollbacks?environmentId=${env.id}&sort=created_at`)).map((r: any) => r.id)).toEqual([one.id, two.id]);
  const all = await a.call('GET', '/rollbacks?pageSize=1', a.admin);
  expect(all.body.data).toHaveLength(1);
  expect(all.body.meta.pagination.totalItems).toBeGreaterThanOrEqual(2);
  const sf = await a.call('GET', `/prod/api/rollbacks?environmentId=${env.id}&limit=1`, a.admin);
  expect(sf.body).toMatchObject({ data: [{ id: two.id }], total: 2, next_cursor: expect.any(String) });
  expect(await b.expect(200, 'GET', '/rollbacks', await b.token('mallory@example.com', { roles: ['viewer'] }))).toEqual([]);
});

it('sends operator commands to the job’s workflow: refusals are 409, a cancel lands once with its key, another tenant’s job is 404', async () => {
  const env = await environment('Busy', 60);
  await deployed(a, env.id, st.release.id, hoursAgo(2));
  await deployed(a, env.id, v2.id, hoursAgo(1));
  await app.pool.query('INSERT INTO targets (tenant_id, id, environment_id, name) VALUES ($1, $2, $3, $4)', [a.tenant, randomUUID(), env.id, `busy-${randomUUID().slice(0, 6)}`]);
  // Another job holds the environment, so this one waits its turn.
  await app.pool.query('INSERT INTO environment_deploy_slots (tenant_id, environment_id, job_id) VALUES ($1, $2, $3)', [a.tenant, env.id, randomUUID()]);
  const { jobId } = await a.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, reason: 'bad deploy' });
  const queued = await eventually(async () => {
    const job = await a.expect(200, 'GET', `/deployment-jobs/${jobId}`, operator);
    expect(job.status).toBe('queued');
    return job;
  });
  expect(queued).toMatchObject({ kind: 'rollback', pausedOn: null });

  const taskId = randomUUID();
  expect(await a.refuse(409, 'POST', `/deployment-jobs/${jobId}/retry`, operator, { taskId })).toMatchObject({ code: 'JOB_NOT_PAUSED' });
  expect((await a.refuse(400, 'POST', `/deployment-jobs/${jobId}/abort`, operator, { taskId })).code).toBe('VALIDATION_FAILED');
  const mallory = await b.token('mallory@example.com', { roles: ['release-manager'] });
  for (const action of ['retry', 'skip', 'rollback', 'abort']) {
    expect((await b.refuse(404, 'POST', `/deployment-jobs/${jobId}/${action}`, mallory, { taskId, reason: 'mine now' })).code).toBe('DEPLOYMENT_JOB_NOT_FOUND');
  }
  expect((await b.refuse(404, 'POST', `/deployment-jobs/${jobId}/cancel`, mallory, {})).code).toBe('DEPLOYMENT_JOB_NOT_FOUND');

  const headers = { 'Idempotency-Key': `cancel-${randomUUID()}` };
  const cancelled = await a.call('POST', `/deployment-jobs/${jobId}/cancel`, operator, { reason: 'not needed' }, headers);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.data).toMatchObject({ id: jobId, status: 'cancelled' });
  expect(cancelled.body.data.decisions).toEqual([expect.objectContaining({ action: 'cancel', by: 'sre@example.com', reason: 'not needed' })]);
  const again = await a.call('POST', `/deployment-jobs/${jobId}/cancel`, operator, { reason: 'not needed' }, headers);
  expect(again.body.data).toEqual(cancelled.body.data);
  expect((await a.refuse(409, 'POST', `/deployment-jobs/${jobId}/cancel`, operator, {})).code).toBe('JOB_FINISHED');
  expect(await a.expect(200, 'GET', `/deployment-jobs/${jobId}`)).toMatchObject({ status: 'cancelled' });
});

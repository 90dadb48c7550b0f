import { workflowId } from '../../domain/workflow-ids';
import { FAIL_VERSION_HOOK, startAgentProcess, type AgentProcess } from '../support/agent-process';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { newDigest, scene, type Scene } from '../support/promotion-scene';

/**
 * A deployment job longer than its history allows, on the real stack (API,
 * orchestrator worker, Postgres, Temporal and an agent process): with the
 * history threshold lowered (DEPLOY_JOB_MAX_HISTORY_EVENTS) a rolling job
 * continues as new between batches, and operators' commands — a retry of the
 * failure it paused on, a cancel — reach whichever run is current.
 */
let app: TestApp;
let s: Scene;
let env: any;
let agent: AgentProcess | undefined;
const releases: Record<string, any> = {};
const targets: any[] = [];
const NAMES = ['t1', 't2', 't3', 't4', 't5', 't6'];

beforeAll(async () => {
  app = await startTestApp({
    env: { DEPLOY_JOB_MAX_HISTORY_EVENTS: '60', DEPLOY_PICKUP_TIMEOUT: '30s', DEPLOY_HEARTBEAT_TIMEOUT: '5s', AGENT_HEARTBEAT_INTERVAL: '1s', DEPLOY_CANCEL_GRACE: '2s' },
  });
  s = await scene(app);
  env = await s.expect(201, 'POST', '/environments', s.admin, {
    name: 'Production',
    order: 1,
    requiredApprovals: 0,
    deployment: { strategy: { type: 'rolling', batchSize: 1 }, failurePolicy: 'pause' },
  });
  // A target's `sleep` property holds its hook that long, so a test can act while it runs.
  const hook = `sleep "\${TOLLGATE_PROP_SLEEP:-0}"; ${FAIL_VERSION_HOOK}`;
  const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'shop', deployHook: hook });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: ['1.0.0', '2.0.0'].map((version) => ({ version, digest: newDigest() })) });
  for (const version of ['1.0.0', '2.0.0']) {
    releases[version] = await s.expect(201, 'POST', '/releases', s.admin, { name: `shop-${version}`, version, components: [{ componentId: component.id, version }], securityScan: { criticalCount: 0, highCount: 0 } });
  }
  for (const name of NAMES) targets.push(await s.expect(201, 'POST', '/targets', s.admin, { name, environmentId: env.id, labels: { role: 'web' } }));
  agent = await startAgentProcess(app, s, { name: 'shop-agent', environmentId: env.id, targets });
}, 180_000);

afterAll(async () => {
  await agent?.stop();
  await app?.close();
});

const target = (name: string) => targets[NAMES.indexOf(name)];
const setProperties = (name: string, properties: Record<string, string | null>) => s.expect(200, 'PATCH', `/targets/${target(name).id}`, s.admin, { properties });
const job = (id: string) => s.expect(200, 'GET', `/deployment-jobs/${id}`);
const jobUntil = (id: string, what: string, done: (j: any) => boolean) =>
  until(`job ${id} ${what}`, async () => {
    const j = await job(id);
    return done(j) ? j : undefined;
  }, 90_000, 200);

async function promote(version: string): Promise<string> {
  const promotion = await s.expect(201, 'POST', '/promotions', s.admin, { releaseId: releases[version].id, targetEnvironmentId: env.id, reason: `deploy ${version}` });
  const found = await until(`the job of ${promotion.id}`, async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotion.id}`))[0], 30_000, 150);
  return found.id;
}

/** How many runs the job's workflow has had so far (each continue-as-new starts one). */
async function runs(jobId: string): Promise<number> {
  let n = 0;
  for await (const _ of app.client.workflow.list({ query: `WorkflowId = '${workflowId(s.tenant, 'deployment', jobId)}'` })) n += 1;
  return n;
}

test('a job past its history threshold continues as new between batches and deploys every target; the retry of the failure it paused on reaches the later run', async () => {
  await setProperties('t4', { fail_version: '1.0.0' });
  const jobId = await promote('1.0.0');
  const paused = await jobUntil(jobId, 'to pause on t4', (j) => j.status === 'paused');
  expect(paused).toMatchObject({ pausedOn: { targetName: 't4' }, progress: expect.objectContaining({ succeeded: 3, failed: 1 }) });
  await until('the job to have continued as new', async () => (await runs(jobId)) >= 2, 30_000, 300);

  await setProperties('t4', { fail_version: null });
  await s.expect(200, 'POST', `/deployment-jobs/${jobId}/retry`, s.admin, { taskId: paused.pausedOn.taskId, reason: 'fixed the config' });
  const done = await jobUntil(jobId, 'to be deployed', (j) => ['deployed', 'failed', 'rolled_back', 'cancelled'].includes(j.status));
  expect(done).toMatchObject({ status: 'deployed', progress: expect.objectContaining({ total: 6, succeeded: 6, failed: 0, pending: 0 }), batch: { index: 6, count: 6 } });
  const tasks = await s.expect(200, 'GET', `/deployment-jobs/${jobId}/tasks?pageSize=100`);
  expect(tasks.map((t: any) => `${t.targetName}#${t.attempt}:${t.status}`).sort()).toEqual(['t1#1:succeeded', 't2#1:succeeded', 't3#1:succeeded', 't4#1:failed', 't4#2:succeeded', 't5#1:succeeded', 't6#1:succeeded']);
  for (const name of NAMES) expect(await s.expect(200, 'GET', `/targets/${target(name).id}/sticker`)).toMatchObject({ version: '1.0.0', jobId });
  expect(await runs(jobId)).toBeGreaterThanOrEqual(3);
});

test('a cancel reaches a job that has continued as new: the running hook is stopped and the targets after it are never deployed', async () => {
  await setProperties('t5', { sleep: '60' });
  const jobId = await promote('2.0.0');
  await until('t5 to be running', async () => (await s.expect(200, 'GET', `/deployment-jobs/${jobId}/tasks?pageSize=100`)).some((t: any) => t.targetName === 't5' && t.status === 'running'), 90_000, 200);
  expect(await runs(jobId)).toBeGreaterThanOrEqual(2);
  await s.expect(200, 'POST', `/deployment-jobs/${jobId}/cancel`, s.admin, { reason: 'wrong release' });
  const done = await jobUntil(jobId, 'to be cancelled', (j) => j.status === 'cancelled');
  expect(done.progress).toMatchObject({ succeeded: 4, cancelled: 1, pending: 1 });
  const tasks = await s.expect(200, 'GET', `/deployment-jobs/${jobId}/tasks?pageSize=100`);
  expect(tasks.find((t: any) => t.targetName === 't5')).toMatchObject({ status: 'cancelled' });
  expect(tasks.some((t: any) => t.targetName === 't6')).toBe(false);
  await setProperties('t5', { sleep: null });
});

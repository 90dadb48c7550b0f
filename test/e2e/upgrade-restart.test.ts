import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../scripts/stack/processes';
import { startTemporalDevServer, type DevServer } from '../../scripts/stack/temporal-server';
import { workflowId } from '../../domain/workflow-ids';
import { slaWorkflowId } from '../../workflows/incidents/messages';
import { agentPolls, FAIL_VERSION_HOOK, startAgentProcess, type AgentProcess } from '../support/agent-process';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, step } from '../support/changes';
import { eventually, until } from '../support/eventually';
import { createIncident, getIncident, patchIncident } from '../support/incidents';
import { approve, newDigest, reaches, scene, type Scene } from '../support/promotion-scene';
import { testEnv } from '../support/env';

/**
 * An upgrade stops everything and starts it again on the same data. One
 * workflow of each main kind is left waiting mid-way — a change awaiting its
 * CAB, a promotion awaiting approval, an incident whose SLA clock runs, a
 * deployment job paused on a failed target — then the API, the orchestrator
 * worker and the Temporal dev server are stopped and started again on the same
 * DATA_DIR (the Temporal SQLite file, the keys) and Postgres, on the same
 * ports; the agent on the target host stays up and finds the API again. Each
 * workflow is then driven to its end through the API: the new worker replays
 * every history it left behind.
 */
let dataDir: string;
let temporalPort: number;
let apiPort: number;
let server: DevServer | undefined;
let app: TestApp | undefined;
let agent: AgentProcess | undefined;
/** A client of this test's own Temporal (the app's client talks to the test run's). */
let temporal: Client | undefined;
const taskQueue = `e2e-upgrade-${randomUUID()}`;
const tenant = `t-${randomUUID().slice(0, 8)}`;

const startTemporal = () =>
  startTemporalDevServer({ cli: testEnv.temporalCli, dbFile: path.join(dataDir, 'temporal.sqlite'), port: temporalPort, uiPort: 0, headless: true, logFile: path.join(dataDir, 'temporal.log') });
const startApp = () =>
  startTestApp({
    env: {
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(apiPort),
      INCIDENT_SLA_RESOLUTION: 'P1=20s,P2=8h,P3=3d,P4=5d',
      DEPLOY_PICKUP_TIMEOUT: '30s',
      DEPLOY_HEARTBEAT_TIMEOUT: '5s',
      AGENT_HEARTBEAT_INTERVAL: '1s',
    },
  });

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-upgrade-restart-'));
  chmodSync(dataDir, 0o755);
  [temporalPort, apiPort] = [await freePort(), await freePort()];
  server = await startTemporal();
  app = await startApp();
  temporal = new Client({ connection: await Connection.connect({ address: server.address }) });
});
afterAll(async () => {
  // Each step on its own: one that fails must not leave a server or the agent running (jest would never exit).
  for (const stop of [() => temporal?.connection.close(), () => agent?.stop(), () => app?.close(), () => server?.stop()]) {
    await Promise.resolve()
      .then(stop)
      .catch((err) => console.error(err));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('a change awaiting CAB, a promotion awaiting approval, a running SLA clock and a paused deployment job each reach their end after a full restart', async () => {
  // Before: everything left waiting mid-way.
  let s = await scene(app!, tenant);
  const requester = () => s.token('alice@example.com', { roles: ['engineer'] });
  const change = await createChange(app!, await requester(), auroraChange({ cab_approvers: ['bob@example.com'] }));
  await step(app!, await requester(), 'POST', `${change.id}/submit`);
  expect((await step(app!, await requester(), 'POST', `${change.id}/submit-cab`, {})).state).toBe('cab_review');

  const env = await s.expect(201, 'POST', '/environments', s.admin, { name: 'Production', order: 1, requiredApprovals: 1, deployment: { failurePolicy: 'pause' } });
  const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'shop', repository: 'registry.example.com/shop', deployHook: FAIL_VERSION_HOOK });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: ['1.0.0', '2.0.0'].map((version) => ({ version, digest: newDigest() })) });
  const release = async (version: string) =>
    s.expect(201, 'POST', '/releases', s.admin, { name: `shop-${version}`, version, components: [{ componentId: component.id, version }], securityScan: { criticalCount: 0, highCount: 0 } });
  const [v1, v2] = [await release('1.0.0'), await release('2.0.0')];
  const target = await s.expect(201, 'POST', '/targets', s.admin, { name: 'web-1', environmentId: env.id, properties: { fail_version: '1.0.0' } });
  agent = await startAgentProcess(app!, s, { name: 'shop-agent', environmentId: env.id, targets: [target], temporal });
  const request = async (releaseId: string) =>
    (await s.expect(201, 'POST', '/promotions', await s.token('dev@example.com', { roles: ['developer'] }), { releaseId, targetEnvironmentId: env.id, reason: 'ship it' })).id as string;
  const approver = () => s.token('sre@example.com', { roles: ['approver'] });

  const paused = await request(v1.id);
  await reaches(s, paused, 'awaiting_approval');
  expect((await approve(s, paused, await approver())).status).toBe(200);
  const jobId: string = await until('the deployment job', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${paused}`))[0]?.id, 30_000);
  const pausedOn = (await jobUntil(s, jobId, 'paused', (j) => j.status === 'paused')).pausedOn;
  const waiting = await request(v2.id);
  await reaches(s, waiting, 'awaiting_approval');

  const sre = () => s.token('olga@example.com', { roles: ['sre'] });
  const incident = await createIncident(app!, await sre(), { short_description: 'Checkout latency over 5 s', priority: 'P1' });
  await until('the SLA clock to run', async () => (await getIncident(app!, await sre(), incident.id)).sla?.clock === 'running');

  const workflows = {
    change: workflowId(tenant, 'change', change.id),
    paused: workflowId(tenant, 'promotion', paused),
    job: workflowId(tenant, 'deployment', jobId),
    waiting: workflowId(tenant, 'promotion', waiting),
    incident: slaWorkflowId(tenant, incident.id),
  };

  // Everything but Postgres and the agent stops; then starts again on the same data directory and ports.
  await app!.close();
  app = undefined;
  await server!.stop();
  server = await startTemporal();
  const restartedAt = Date.now();
  app = await startApp();
  s = await scene(app, tenant);
  for (const id of Object.values(workflows)) expect({ id, status: (await temporal!.workflow.getHandle(id).describe()).status.name }).toEqual({ id, status: 'RUNNING' });

  // The change: approved by its CAB, then worked and closed.
  expect((await step(app, await s.token('bob@example.com', { roles: ['cab-member'] }), 'POST', `${change.id}/approve`, {})).state).toBe('scheduled');
  await step(app, await requester(), 'PATCH', change.id, { state: 'in_progress' });
  await step(app, await requester(), 'PATCH', change.id, { state: 'completed' });
  expect((await step(app, await requester(), 'PATCH', change.id, { state: 'closed' })).state).toBe('closed');

  // The waiting promotion is approved; its job queues behind the paused one, which holds the environment.
  expect((await approve(s, waiting, await approver())).status).toBe(200);
  // The paused job: the target fixed, the failed target retried on the agent, which found the restarted API by itself.
  await agentPolls(temporal!, agent.id, restartedAt);
  await s.expect(200, 'PATCH', `/targets/${target.id}`, s.admin, { properties: { fail_version: null } });
  await s.expect(200, 'POST', `/deployment-jobs/${jobId}/retry`, s.admin, { taskId: pausedOn.taskId, reason: 'fixed after the upgrade' });
  await jobUntil(s, jobId, 'deployed', (j) => j.status === 'deployed');
  await reaches(s, paused, 'deployed', undefined, 60_000);
  await reaches(s, waiting, 'deployed', undefined, 60_000);
  expect(await s.expect(200, 'GET', `/targets/${target.id}/sticker`)).toMatchObject({ releaseId: v2.id });

  // The SLA clock kept its time: the breach lands once, then the incident is resolved and closed.
  await until('the breach', async () => (await getIncident(app!, await sre(), incident.id)).sla_breached, 60_000);
  await patchIncident(app, await sre(), incident.id, { state: 'in_progress' });
  await patchIncident(app, await sre(), incident.id, { state: 'resolved', work_note: 'scaled the checkout pool' });
  await patchIncident(app, await sre(), incident.id, { state: 'closed' });
  const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.sla_breach'`, [tenant, incident.id]);
  expect(rows[0].n).toBe(1);

  for (const id of Object.values(workflows)) {
    await eventually(async () => expect({ id, status: (await temporal!.workflow.getHandle(id).describe()).status.name }).toEqual({ id, status: 'COMPLETED' }));
  }
}, 150_000);

async function jobUntil(s: Scene, id: string, what: string, done: (job: any) => boolean): Promise<any> {
  let last: any;
  try {
    return await until(`job ${id} ${what}`, async () => {
      last = await s.expect(200, 'GET', `/deployment-jobs/${id}`);
      return done(last) ? last : undefined;
    }, 60_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

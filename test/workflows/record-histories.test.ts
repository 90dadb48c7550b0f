import { randomUUID } from 'node:crypto';
import type { CommandMeta } from '../../domain/actor';
import type { TemplateSpec } from '../../domain/templates/model';
import { workflowId } from '../../domain/workflow-ids';
import { auditReportWorkflowId } from '../../workflows/audit-report-messages';
import { cmdbBulkWorkflowId } from '../../workflows/cmdb/messages';
import { DASHBOARD_SWEEP_WORKFLOW_TYPE, dashboardScheduleId } from '../../workflows/dashboard/messages';
import { notificationWorkflowId, slaWorkflowId, bulkWorkflowId } from '../../workflows/incidents/messages';
import { FAIL_VERSION_HOOK, startAgentProcess, type AgentProcess } from '../support/agent-process';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, iso, step } from '../support/changes';
import { until } from '../support/eventually';
import { CORPUS_PAYLOAD_KEYS, writeCorpusHistory } from '../support/history-corpus';
import { createIncident, getIncident, patchIncident } from '../support/incidents';
import { approve, newDigest, reaches, scene, stage, type Scene } from '../support/promotion-scene';
import { buildPipeline } from '../support/promotions';
import { rolloutStage, type RolloutStage } from '../support/rollout-scene';
import { startStepServer, type StepServer } from '../support/step-server';
import { startPromQlServer, startTrafficReceiver } from '../support/traffic-receiver';
import { decideStep, getRun, pauseRun, resumeRun, searchAttributesOf as templateRunAttributes, TEMPLATE_RUN_WORKFLOW_TYPE } from '../../workflows/template-runs/messages';
import type { templateRun } from '../../workflows/template-runs/template-run';
import { callSearchAttributesOf, INTEGRATION_CALL_WORKFLOW_TYPE, type IntegrationCallInput } from '../../domain/integrations/calls';
import type { integrationCall } from '../../workflows/integrations/integration-call';

/**
 * Records the replay corpus (test/fixtures/histories, see its README): every
 * workflow type driven through the API and the orchestrator worker as users
 * drive them, with one real agent process for the deployment paths, and each
 * finished run's history written as `<workflowType>.<path>.json`.
 *
 * Skipped in a normal `npm test`. Run by hand:
 *   RECORD_HISTORIES=1 npm test -- test/workflows/record-histories.test.ts
 * Histories already in the corpus are kept (they stand for workflows already
 * running somewhere); only missing files are written. RECORD_HISTORIES=overwrite
 * rewrites them all — only for a file recorded by mistake, never to make the
 * corpus pass after a workflow change.
 */
const RECORDING = Boolean(process.env.RECORD_HISTORIES);
const describeRecording = RECORDING ? describe : describe.skip;

/** Short timers, so every deadline a workflow sets fires while it is recorded. */
const RECORDING_ENV = {
  PAYLOAD_ENCRYPTION_KEYS: CORPUS_PAYLOAD_KEYS,
  CHANGE_REVIEW_DEADLINE: '3s',
  PROMOTION_EXPIRY_HOUR: '1s',
  INCIDENT_SLA_RESPONSE: 'P1=1h,P2=1h,P3=8h,P4=1d',
  INCIDENT_SLA_RESOLUTION: 'P1=8s,P2=8h,P3=3d,P4=5d',
  INCIDENT_SLA_WARNING: '0.5',
  DEPLOY_PICKUP_TIMEOUT: '30s',
  DEPLOY_HEARTBEAT_TIMEOUT: '5s',
  AGENT_HEARTBEAT_INTERVAL: '1s',
  DEPLOY_CANCEL_GRACE: '2s',
};

describeRecording('recording the replay corpus', () => {
  let app: TestApp;
  const written: string[] = [];
  const kept: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: RECORDING_ENV });
  });
  afterAll(async () => {
    console.log(`replay corpus: wrote ${written.length ? written.join(', ') : 'nothing'}; kept ${kept.length ? kept.join(', ') : 'nothing'}`);
    await app?.close();
  });

  /** Waits for the workflow to complete and writes its history as `<type>.<name>.json`. */
  async function record(id: string, name: string): Promise<void> {
    const handle = app.client.workflow.getHandle(id);
    await handle.result();
    const described = await handle.describe();
    expect(described.status.name).toBe('COMPLETED');
    const file = `${described.type}.${name}.json`;
    (writeCorpusHistory(file, await handle.fetchHistory()) ? written : kept).push(file);
  }

  describe('changeLifecycle', () => {
    const changeWf = (id: string) => workflowId(app.tenant, 'change', id);
    const tokens = async () => ({
      requester: await app.token('alice@example.com', { roles: ['engineer'] }),
      bob: await app.token('bob@example.com', { roles: ['cab-member'] }),
      carol: await app.token('carol@example.com', { roles: ['cab-member'] }),
    });
    const change = async (token: string, id: string) => (await app.http('GET', `/prod/api/changes/${id}`, { token })).body;

    test('normal change through CAB: two approvals, the window opens, overruns, completed and closed', async () => {
      const { requester, bob, carol } = await tokens();
      const opensAt = Date.now() + 3_000;
      const created = await createChange(
        app,
        requester,
        auroraChange({ cab_approvers: ['bob@example.com', 'carol@example.com'], scheduled_start: new Date(opensAt).toISOString(), scheduled_end: iso(10_000) }),
      );
      await step(app, requester, 'PATCH', created.id, { test_plan: 'Run the regression suite and the Aurora smoke tests' });
      await step(app, requester, 'POST', `${created.id}/submit`);
      await step(app, requester, 'POST', `${created.id}/submit-cab`, { notes: 'minor upgrade' });
      await step(app, bob, 'POST', `${created.id}/approve`, { comment: 'ok' });
      expect((await step(app, carol, 'POST', `${created.id}/approve`, {})).state).toBe('scheduled');
      await until('the window to open', async () => (await change(requester, created.id)).window_opened_at, 30_000);
      await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
      await until('the window to overrun', async () => (await change(requester, created.id)).window_overrun, 30_000);
      await step(app, requester, 'PATCH', created.id, { state: 'completed' });
      expect((await step(app, requester, 'PATCH', created.id, { state: 'closed' })).state).toBe('closed');
      await record(changeWf(created.id), 'cab-approved-window-overrun-closed');
    });

    test('normal change rejected by CAB, revised back to draft, then cancelled', async () => {
      const { requester, bob } = await tokens();
      const created = await createChange(app, requester, auroraChange({ cab_approvers: ['bob@example.com'] }));
      await step(app, requester, 'POST', `${created.id}/submit`);
      await step(app, requester, 'POST', `${created.id}/submit-cab`, {});
      expect((await step(app, bob, 'POST', `${created.id}/reject`, { reason: 'no rollback rehearsal' })).state).toBe('rejected');
      await step(app, requester, 'PATCH', created.id, { state: 'draft', backout_plan: '1. Restore from the rehearsed pre-upgrade snapshot' });
      expect((await step(app, requester, 'POST', `${created.id}/cancel`, { reason: 'superseded' })).state).toBe('cancelled');
      await record(changeWf(created.id), 'cab-rejected-revised-cancelled');
    });

    test('emergency change: scheduled on submit, failed, review overdue, reviewed and closed', async () => {
      const { requester } = await tokens();
      const reviewer = await app.token('rita@example.com', { roles: ['change-manager'] });
      const created = await createChange(app, requester, { type: 'emergency', short_description: 'Hotfix the checkout timeout', assignment_group: 'Payments' });
      expect((await step(app, requester, 'POST', `${created.id}/submit`)).state).toBe('scheduled');
      await step(app, requester, 'PATCH', created.id, { state: 'in_progress' });
      await step(app, requester, 'PATCH', created.id, { state: 'failed' });
      await until('the review to be overdue', async () => (await change(requester, created.id)).review_overdue, 30_000);
      expect((await step(app, reviewer, 'POST', `${created.id}/review`, { outcome: 'unsuccessful', notes: 'timeout came back; root cause elsewhere' })).state).toBe('closed');
      await record(changeWf(created.id), 'emergency-failed-review-overdue-closed');
    });
  });

  describe('promotion without deployment targets', () => {
    const promotionWf = (s: Scene, id: string) => workflowId(s.tenant, 'promotion', id);

    test('rejected by an approver', async () => {
      const s = await scene(app);
      const st = await stage(s, { env: { requiredApprovals: 1 } });
      const dev = await s.token('dev@example.com', { roles: ['developer'] });
      const p = await reaches(s, (await s.expect(201, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it' })).id, 'awaiting_approval');
      await s.expect(200, 'POST', `/promotions/${p.id}/reject`, await s.token('sre1@example.com', { roles: ['approver'] }), { reason: 'not this week' });
      await record(promotionWf(s, p.id), 'rejected');
    });

    test('approval expires (a durable timer) after one approval of two', async () => {
      const s = await scene(app);
      const st = await stage(s, { policy: { requiredApprovals: 2, approverGroups: ['sre-team'], requireSeparationOfDuties: true, autoExpireHours: 4 } });
      const dev = await s.token('dev@example.com', { roles: ['developer'] });
      const p = await reaches(s, (await s.expect(201, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it' })).id, 'awaiting_approval');
      expect((await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'), 'looks fine')).status).toBe(200);
      expect(await reaches(s, p.id, 'cancelled', undefined, 30_000)).toMatchObject({ statusReason: 'approval_expired' });
      await record(promotionWf(s, p.id), 'approval-expired');
    });

    test('approved, held by a freeze, sent back for approval when its deploy hook changes, then cancelled', async () => {
      const s = await scene(app);
      const st = await stage(s, { policy: { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true } });
      await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./deploy.sh' });
      await s.expect(201, 'POST', `/environments/${st.env.id}/freeze-windows`, s.admin, { name: 'Release freeze', start: iso(-60_000), end: iso(3_600_000) });
      const dev = await s.token('dev@example.com', { roles: ['developer'] });
      const p = await reaches(s, (await s.expect(201, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it' })).id, 'awaiting_approval');
      expect((await approve(s, p.id, await s.member('sre1@example.com', 'sre-team'))).body.data).toMatchObject({ status: 'approved' });
      await reaches(s, p.id, 'approved', (x) => x.heldUntil !== null);
      await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./deploy-v2.sh' });
      await reaches(s, p.id, 'awaiting_approval', (x) => x.approvals[0]?.invalidated);
      await s.expect(200, 'POST', `/promotions/${p.id}/cancel`, dev, { reason: 'waiting for the freeze to end' });
      await record(promotionWf(s, p.id), 'held-by-freeze-rebound-cancelled');
    });
  });

  describe('promotion and deploymentJob on a real agent', () => {
    let s: Scene;
    let env: any;
    let agent: AgentProcess | undefined;
    const releases: Record<string, any> = {};
    const targets: Record<string, any> = {};
    const job = (id: string) => s.expect(200, 'GET', `/deployment-jobs/${id}`);
    const jobUntil = (id: string, what: string, done: (j: any) => boolean) =>
      until(`job ${id} ${what}`, async () => {
        const j = await job(id);
        return done(j) ? j : undefined;
      }, 60_000, 200);
    const jobOf = (promotionId: string) =>
      until(`the deployment job of ${promotionId}`, async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotionId}`))[0], 30_000, 150);
    const setProperties = (name: string, properties: Record<string, string | null>) => s.expect(200, 'PATCH', `/targets/${targets[name].id}`, s.admin, { properties });

    /** Requested by a developer, approved by two others: the policy wants two approvals and separation of duties. */
    async function promote(version: string): Promise<{ promotion: any; jobId: string }> {
      const dev = await s.token('dev@example.com', { roles: ['developer'] });
      const created = await s.expect(201, 'POST', '/promotions', dev, { releaseId: releases[version].id, targetEnvironmentId: env.id, reason: `deploy ${version}` });
      await reaches(s, created.id, 'awaiting_approval');
      for (const approver of ['sre1@example.com', 'sre2@example.com']) expect((await approve(s, created.id, await s.token(approver, { roles: ['approver'] }))).status).toBe(200);
      return { promotion: created, jobId: (await jobOf(created.id)).id };
    }

    beforeAll(async () => {
      s = await scene(app);
      env = await s.expect(201, 'POST', '/environments', s.admin, {
        name: 'Production',
        order: 1,
        requiredApprovals: 2,
        requireSod: true,
        deployment: { strategy: { type: 'all-at-once' }, failurePolicy: 'rollback' },
      });
      const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'shop', repository: 'registry.example.com/shop', deployHook: FAIL_VERSION_HOOK });
      await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: ['1.0.0', '2.0.0', '3.0.0'].map((version) => ({ version, digest: newDigest() })) });
      for (const version of ['1.0.0', '2.0.0', '3.0.0']) {
        releases[version] = await s.expect(201, 'POST', '/releases', s.admin, {
          name: `shop-${version}`,
          version,
          components: [{ componentId: component.id, version }],
          securityScan: { criticalCount: 0, highCount: 0 },
        });
      }
      const healthCheck = { command: 'true', retries: 0, intervalSeconds: 1, timeoutSeconds: 5 };
      for (const name of ['web-1', 'web-2']) targets[name] = await s.expect(201, 'POST', '/targets', s.admin, { name, environmentId: env.id, labels: { role: 'web' }, healthCheck });

      agent = await startAgentProcess(app, s, { name: 'shop-agent', environmentId: env.id, targets: Object.values(targets) });
    }, 120_000);

    afterAll(() => agent?.stop());

    test('targetHealthCheck: a healthy target, checked on its agent', async () => {
      const answer = await s.expect(200, 'POST', `/targets/${targets['web-1'].id}/health-check`, s.admin, {});
      expect(answer).toMatchObject({ healthy: true });
      const { rows } = await app.pool.query(`SELECT after->>'workflowId' AS id FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'target.health-check'`, [
        s.tenant,
        targets['web-1'].id,
      ]);
      await record(rows[0].id, 'healthy');
    });

    test('approved by two, deployed to both targets by its deploymentJob child', async () => {
      const { promotion, jobId } = await promote('1.0.0');
      await jobUntil(jobId, 'to be deployed', (j) => j.status === 'deployed');
      await reaches(s, promotion.id, 'deployed');
      await record(workflowId(s.tenant, 'deployment', jobId), 'deployed');
      await record(workflowId(s.tenant, 'promotion', promotion.id), 'approved-deployed');
    });

    test('one target fails its deploy: the job rolls the updated targets back, the promotion ends rolled_back', async () => {
      await setProperties('web-2', { fail_version: '2.0.0' });
      const { promotion, jobId } = await promote('2.0.0');
      expect(await jobUntil(jobId, 'to finish', (j) => ['deployed', 'failed', 'rolled_back', 'cancelled'].includes(j.status))).toMatchObject({ status: 'rolled_back' });
      await reaches(s, promotion.id, 'rolled_back');
      await record(workflowId(s.tenant, 'deployment', jobId), 'failure-rolled-back');
      await record(workflowId(s.tenant, 'promotion', promotion.id), 'approved-rolled-back');
    });

    test('guided failure: paused on a failure, retried after the fix, paused again and skipped; a rollback request queues behind it', async () => {
      await s.expect(200, 'PATCH', `/environments/${env.id}`, s.admin, { deployment: { failurePolicy: 'pause' } });
      await setProperties('web-1', { fail_version: '3.0.0' });
      await setProperties('web-2', { fail_version: '3.0.0' });
      const { promotion, jobId } = await promote('3.0.0');
      const first = await jobUntil(jobId, 'to pause on web-1', (j) => j.status === 'paused' && j.pausedOn?.targetName === 'web-1');

      // While it holds the environment, an operator asks to go back to 1.0.0: that job waits its turn.
      const operator = await s.token('sre@example.com', { roles: ['sre'] });
      const rollback = await s.expect(201, 'POST', '/rollbacks', operator, { environmentId: env.id, releaseId: releases['1.0.0'].id, reason: 'back to the known good one' });
      await jobUntil(rollback.jobId, 'to queue', (j) => j.status === 'queued' && j.queuePosition !== null);

      await setProperties('web-1', { fail_version: null });
      await s.expect(200, 'POST', `/deployment-jobs/${jobId}/retry`, s.admin, { taskId: first.pausedOn.taskId, reason: 'fixed the config' });
      const second = await jobUntil(jobId, 'to pause on web-2', (j) => j.status === 'paused' && j.pausedOn?.targetName === 'web-2');
      await s.expect(200, 'POST', `/deployment-jobs/${jobId}/skip`, s.admin, { taskId: second.pausedOn.taskId, reason: 'web-2 is being replaced' });
      expect(await jobUntil(jobId, 'to finish', (j) => j.status === 'deployed')).toMatchObject({ progress: expect.objectContaining({ succeeded: 1, skipped: 1 }) });
      await record(workflowId(s.tenant, 'deployment', jobId), 'paused-retried-skipped');
      await reaches(s, promotion.id, 'deployed');
      await record(workflowId(s.tenant, 'promotion', promotion.id), 'approved-deployed-after-pause');

      await setProperties('web-2', { fail_version: null });
      await jobUntil(rollback.jobId, 'to be deployed', (j) => j.status === 'deployed');
      await record(workflowId(s.tenant, 'deployment', rollback.jobId), 'rollback-request-queued-deployed');
    });
  });

  describe('incidents', () => {
    test('incidentSla: paused on hold, resumed, warned, breached, resolved and closed; incidentNotification of its creation', async () => {
      const token = await app.token('olga@example.com', { roles: ['sre'] });
      const created = await createIncident(app, token, { short_description: 'Checkout latency over 5 s', priority: 'P1', notify_stakeholders: true });
      await until('the SLA clock to run', async () => (await getIncident(app, token, created.id)).sla?.clock === 'running');
      await patchIncident(app, token, created.id, { state: 'in_progress' });
      await patchIncident(app, token, created.id, { state: 'on_hold' });
      await until('the SLA clock to pause', async () => (await getIncident(app, token, created.id)).sla?.clock === 'paused');
      await patchIncident(app, token, created.id, { state: 'in_progress' });
      await until('the SLA clock to run again', async () => (await getIncident(app, token, created.id)).sla?.clock === 'running');
      await until('the warning', async () => (await getIncident(app, token, created.id)).sla?.warned, 30_000);
      await until('the breach', async () => (await getIncident(app, token, created.id)).sla_breached, 30_000);
      await patchIncident(app, token, created.id, { state: 'resolved', work_note: 'scaled the checkout pool' });
      await patchIncident(app, token, created.id, { state: 'closed' });
      await record(slaWorkflowId(app.tenant, created.id), 'held-resumed-warned-breached-closed');
      await record(notificationWorkflowId(app.tenant, created.id, 1, 'created'), 'created');
    });

    test('incidentBulk: twelve records in two chunks, two of them refused', async () => {
      const token = await app.token('bulk@example.com', { roles: ['sre'] });
      const records = Array.from({ length: 12 }, (_, i) => ({ short_description: `Disk full on web-${i + 1}`, priority: 'P3' })) as Array<Record<string, unknown>>;
      records[4] = { description: 'no summary' };
      records[9] = { short_description: 'Too far', state: 'closed' };
      const res = await app.http('POST', '/prod/api/incidents/bulk', { token, body: { operation: 'create', records } });
      expect(res.status).toBe(202);
      await record(bulkWorkflowId(app.tenant, res.body.id), 'create-two-chunks-two-refused');
    });
  });

  describe('cmdbBulk', () => {
    test('cmdbBulk: eleven CIs in two chunks, one refused by its class', async () => {
      const token = await app.token('cmdb@example.com', { roles: ['sre'] });
      const records = Array.from({ length: 11 }, (_, i) => ({ name: `recorded-host-${i + 1}`, class: 'host', attributes: { cpus: 4 } })) as Array<Record<string, unknown>>;
      records[3] = { name: 'recorded-bad', class: 'host', attributes: { colour: 'red' } };
      const res = await app.http('POST', '/prod/api/cmdb/cis/bulk', { token, body: { operation: 'create', records } });
      expect(res.status).toBe(202);
      await record(cmdbBulkWorkflowId(app.tenant, res.body.id), 'create-two-chunks-one-refused');
    });
  });

  describe('dashboardSweep', () => {
    test('dashboardSweep: a pass that records a freeze in force', async () => {
      const token = await app.token('rm@example.com', { roles: ['release-manager'] });
      const env = (await app.http('POST', '/api/v1/environments', { token, body: { name: 'Swept', order: 90, requiredApprovals: 1 } })).body.data;
      const now = Date.now();
      const window = { name: 'Recorded freeze', start: new Date(now - 60_000).toISOString(), end: new Date(now + 3_600_000).toISOString() };
      expect((await app.http('POST', `/api/v1/environments/${env.id}/freeze-windows`, { token, body: window })).status).toBe(201);
      // The schedule starts it with an id of its own; a direct start issues the same commands.
      const id = `${dashboardScheduleId(app.config.TEMPORAL_TASK_QUEUE)}-recorded`;
      await app.client.workflow.start(DASHBOARD_SWEEP_WORKFLOW_TYPE, { taskQueue: app.config.TEMPORAL_TASK_QUEUE, workflowId: id, args: [] });
      await record(id, 'freeze-started');
    });
  });
  describe('auditReport', () => {
    test('auditReport: a rejected promotion gathered, its packet verified, the files rendered and signed', async () => {
      const s = await scene(app);
      const st = await stage(s, { env: { requiredApprovals: 1 } });
      const dev = await s.token('dev@example.com', { roles: ['developer'] });
      const p = await reaches(s, (await s.expect(201, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship it' })).id, 'awaiting_approval');
      await s.expect(200, 'POST', `/promotions/${p.id}/reject`, await s.token('sre1@example.com', { roles: ['approver'] }), { reason: 'not this week' });
      await reaches(s, p.id, 'rejected');
      const scope = { environmentIds: [st.env.id], from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
      const report = await s.expect(202, 'POST', '/audit-reports', await s.token('auditor@example.com', { roles: ['auditor'] }), { scope });
      await record(auditReportWorkflowId(s.tenant, report.id), 'ready');
    });
  });
});

describeRecording('recording a rollout', () => {
  let app: TestApp;
  let st: RolloutStage | undefined;
  const written: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: RECORDING_ENV });
  });
  afterAll(async () => {
    console.log(`replay corpus (rollout): wrote ${written.length ? written.join(', ') : 'nothing'}`);
    await st?.close();
    await app?.close();
  });

  test('rollout: weights, a timed pause, an analysis that fails and rolls back, a scale-down job, a retry that passes it, a pause until advance, completion', async () => {
    const s = await scene(app);
    st = await rolloutStage(s, app);
    const route = st.router.routeOf(st.env.id);
    route.canaryErrorRate = 0.5;
    const body = st.body({
      steps: [{ setWeight: 20 }, { pause: { duration: '1s' } }, { analysis: { metric: 'error-rate', max: 0.05, window: '2s', interval: '1s', minRequests: 1 } }, { pause: {} }, { setWeight: 60 }],
    });
    const r = await s.expect(201, 'POST', '/ab-releases', s.admin, body);
    await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, { reason: 'record' });
    const rollout = async () => s.expect(200, 'GET', `/ab-releases/${r.id}`);
    await until('the analysis to roll back', async () => (await rollout()).state === 'aborted' && route.canaryWeight === 0);
    // The scale-down job (stable back on the canary target) ends first: the test's targets have no agent, so it fails, on record.
    await until('the scale-down to end', async () => ['deployed', 'failed'].includes((await rollout()).scaleDown?.status));
    route.canaryErrorRate = 0;
    await s.expect(200, 'POST', `/ab-releases/${r.id}/retry`, s.admin, { reason: 'canary fixed' });
    await until('the pause until advance', async () => (await rollout()).state === 'paused');
    await s.expect(200, 'POST', `/ab-releases/${r.id}/advance`, s.admin, { reason: 'looks good' });
    const id = workflowId(s.tenant, 'rollout', r.id);
    await app.client.workflow.getHandle(id).result();
    const file = 'rollout.rolled-back-retried-advanced-completed.json';
    if (writeCorpusHistory(file, await app.client.workflow.getHandle(id).fetchHistory())) written.push(file);
  });

  test('rollout through integrations: weights PUT to a traffic-webhook, read back, a prometheus-integration analysis that fails and rolls back through the webhook, a retry that passes it, completion', async () => {
    const s = await scene(app);
    const webhook = await startTrafficReceiver('record-traffic-token');
    const promql = await startPromQlServer('record-prom-token', '2.0.0');
    const routerless = await rolloutStage(s, app, { routerless: true });
    try {
      const hook = await s.expect(201, 'POST', '/integrations', s.admin, { typeId: 'traffic-webhook', name: 'record-router', config: { url: webhook.url, bearerToken: 'record-traffic-token' } });
      const prom = await s.expect(201, 'POST', '/integrations', s.admin, { typeId: 'prometheus', name: 'record-prom', config: { url: promql.url, bearerToken: 'record-prom-token' } });
      promql.canaryValue = 0.5;
      const r = await s.expect(201, 'POST', '/ab-releases', s.admin, routerless.body({
        trafficIntegrationId: hook.id,
        steps: [{ setWeight: 20 }, { pause: {} }, { analysis: { provider: 'prometheus', integrationId: prom.id, metric: 'error-rate', max: 0.05, window: '2s', interval: '1s' } }, { setWeight: 60 }],
      }));
      const rollout = async () => s.expect(200, 'GET', `/ab-releases/${r.id}`);
      await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, { reason: 'record' });
      await until('the pause until advance', async () => (await rollout()).state === 'paused');
      expect((await s.expect(200, 'GET', `/ab-releases/${r.id}/traffic`)).live).toBe(true);
      await s.expect(200, 'POST', `/ab-releases/${r.id}/advance`, s.admin, { reason: 'judge it' });
      await until('the analysis to roll back', async () => (await rollout()).state === 'aborted' && webhook.weights.canary === 0);
      await until('the scale-down to end', async () => ['deployed', 'failed'].includes((await rollout()).scaleDown?.status));
      promql.canaryValue = 0;
      await s.expect(200, 'POST', `/ab-releases/${r.id}/retry`, s.admin, { reason: 'canary fixed' });
      await until('the pause until advance again', async () => (await rollout()).state === 'paused');
      await s.expect(200, 'POST', `/ab-releases/${r.id}/advance`, s.admin, { reason: 'looks good' });
      const id = workflowId(s.tenant, 'rollout', r.id);
      expect(await app.client.workflow.getHandle(id).result()).toMatchObject({ state: 'completed' });
      const file = 'rollout.traffic-webhook-prometheus-integration-rolled-back-retried-completed.json';
      if (writeCorpusHistory(file, await app.client.workflow.getHandle(id).fetchHistory())) written.push(file);
    } finally {
      await routerless.close();
      await webhook.close();
      await promql.close();
    }
  });
});

describeRecording('recording a deployment job that continues as new between batches', () => {
  let app: TestApp;
  let agent: AgentProcess | undefined;
  const written: string[] = [];

  beforeAll(async () => {
    // Its own app: the lowered history threshold would change the paths the other deployment scenarios record.
    app = await startTestApp({ env: { ...RECORDING_ENV, DEPLOY_JOB_MAX_HISTORY_EVENTS: '60' } });
  });
  afterAll(async () => {
    console.log(`replay corpus (continue-as-new): wrote ${written.length ? written.join(', ') : 'nothing'}`);
    await agent?.stop();
    await app?.close();
  });

  test('a rolling job of three targets, one per batch: the first run hands the rest over, the last deploys them', async () => {
    const s = await scene(app);
    const env = await s.expect(201, 'POST', '/environments', s.admin, {
      name: 'Production',
      order: 1,
      requiredApprovals: 0,
      deployment: { strategy: { type: 'rolling', batchSize: 1 }, failurePolicy: 'rollback' },
    });
    const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'shop', deployHook: 'true' });
    await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0', digest: newDigest() }] });
    const release = await s.expect(201, 'POST', '/releases', s.admin, { name: 'shop-1.0.0', version: '1.0.0', components: [{ componentId: component.id, version: '1.0.0' }] });
    const targets = [];
    for (const name of ['web-1', 'web-2', 'web-3']) targets.push(await s.expect(201, 'POST', '/targets', s.admin, { name, environmentId: env.id, labels: { role: 'web' } }));
    agent = await startAgentProcess(app, s, { name: 'shop-agent', environmentId: env.id, targets });

    const promotion = await s.expect(201, 'POST', '/promotions', s.admin, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'deploy 1.0.0' });
    await reaches(s, promotion.id, 'deployed', () => true, 90_000);
    const [job] = await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotion.id}`);
    const id = workflowId(s.tenant, 'deployment', job.id);
    const runs: Array<{ runId: string; status: string; startTime: Date }> = [];
    for await (const w of app.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push({ runId: w.runId, status: w.status.name, startTime: w.startTime });
    runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0].status).toBe('CONTINUED_AS_NEW');
    const first = 'deploymentJob.continued-as-new-between-batches.json';
    if (writeCorpusHistory(first, await app.client.workflow.getHandle(id, runs[0].runId).fetchHistory())) written.push(first);
    const last = 'deploymentJob.resumed-rollout-deployed.json';
    if (writeCorpusHistory(last, await app.client.workflow.getHandle(id, runs.at(-1)!.runId).fetchHistory())) written.push(last);
  });
});

describeRecording('recording a template run', () => {
  let app: TestApp;
  let server: StepServer;
  const written: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: RECORDING_ENV });
    server = await startStepServer();
  });
  afterAll(async () => {
    console.log(`replay corpus (template run): wrote ${written.length ? written.join(', ') : 'nothing'}`);
    await server?.close();
    await app?.close();
  });

  test('templateRun: outputs passed along, a skipped branch, a retry, a forEach, a wait paused and resumed, an approval, a finally notify', async () => {
    const runId = randomUUID();
    const id = workflowId(app.tenant, 'template-run', runId);
    const url = (path: string) => `${server.url}${path}`;
    const spec: TemplateSpec = {
      name: 'release pipeline',
      parameters: [{ name: 'regions', type: 'array' }],
      nodes: [
        { id: 'build', type: 'http', inputs: { url: url('/echo/build?version=1.2.3') } },
        { id: 'flaky', type: 'http', dependsOn: ['build'], retry: { attempts: 2, backoff: '200ms' }, inputs: { url: url(`/flaky/${runId}?fail=1`) } },
        { id: 'skipped', type: 'http', dependsOn: ['build'], when: "steps.build.outputs.body.query.version == '0'", inputs: { url: url('/echo/never') } },
        { id: 'regions', type: 'http', dependsOn: ['flaky'], forEach: { items: 'parameters.regions', concurrency: 2 }, inputs: { url: url('/echo/region?r=${{ item }}') } },
        { id: 'soak', type: 'wait', dependsOn: ['regions'], inputs: { duration: '2s' } },
        { id: 'signoff', type: 'approval', dependsOn: ['soak'], inputs: { approvals: 1, groups: ['release-managers'] } },
        { id: 'ship', type: 'http', dependsOn: ['signoff'], inputs: { url: url('/echo/ship?v=${{ steps.build.outputs.body.query.version }}') } },
      ],
      finally: [{ id: 'tell', type: 'notify', inputs: { url: url('/echo/notify'), text: 'release pipeline ended' } }],
    };
    const handle = await app.client.workflow.start<typeof templateRun>(TEMPLATE_RUN_WORKFLOW_TYPE, {
      workflowId: id,
      taskQueue: app.config.TEMPORAL_TASK_QUEUE,
      args: [{ tenantId: app.tenant, runId, templateId: randomUUID(), templateVersion: 1, spec, parameters: { regions: ['eu', 'us', 'ap'] }, requestedBy: 'alice@example.com', requestedByEmail: 'alice@example.com', createdAt: new Date().toISOString() }],
      typedSearchAttributes: templateRunAttributes(app.tenant, { id: runId, status: 'running', templateName: spec.name }),
      staticSummary: `${spec.name} v1`,
    });
    const bob: CommandMeta = { actor: { userId: 'bob@example.com', email: 'bob@example.com', permissions: [], groups: ['release-managers'] } };
    await until('the soak to start', async () => (await handle.query(getRun))?.nodes.find((n) => n.nodeId === 'soak')?.status === 'running');
    await handle.executeUpdate(pauseRun, { args: [{ reason: 'hold on' }, bob] });
    await until('the soak to end', async () => (await handle.query(getRun))?.nodes.find((n) => n.nodeId === 'soak')?.status === 'succeeded');
    await handle.executeUpdate(resumeRun, { args: [{}, bob] });
    await until('the approval to wait', async () => (await handle.query(getRun))?.nodes.find((n) => n.nodeId === 'signoff')?.reason);
    await handle.executeUpdate(decideStep, { args: [{ nodeId: 'signoff', decision: 'approved', comment: 'go' }, bob] });
    expect(await handle.result()).toEqual({ id: runId, status: 'succeeded' });
    await record(id, 'succeeded-retry-foreach-paused-approved');
  });

  test('templateRun: a change-request step waits for the CAB, then a notify step delivers through a webhook integration', async () => {
    const rita = await app.token('rita@example.com', { roles: ['release-manager'] });
    const cab = await app.token('cab@example.com', { roles: ['cab-member'] });
    const hook = await app.http('POST', '/api/v1/integrations', { token: rita, body: { typeId: 'webhook', name: 'run-hook', config: { url: `${server.url}/echo/hook` } } });
    expect(hook.status).toBe(201);
    const nodes = [
      {
        id: 'open_change',
        type: 'change-request',
        inputs: { title: 'Ship payments', implementationPlan: 'Deploy', backoutPlan: 'Roll back', scheduledStart: iso(3_600_000), scheduledEnd: iso(7_200_000), cabApprovers: ['cab@example.com'] },
      },
      { id: 'tell', type: 'notify', dependsOn: ['open_change'], inputs: { integrationId: hook.body.data.id, text: 'change ${{ steps.open_change.outputs.changeId }} scheduled' } },
    ];
    const template = await app.http('POST', '/api/v1/workflow-templates', { token: rita, body: { name: 'change then tell', nodes } });
    expect(template.status).toBe(201);
    const run = await app.http('POST', '/api/v1/workflow-runs', { token: rita, body: { templateId: template.body.data.id, parameters: {} } });
    expect(run.status).toBe(201);
    const runId = run.body.data.id as string;
    // Approved as soon as it reaches the CAB (the recording's review deadline is short).
    const changeId = await until('the change in cab_review', async () => {
      const { rows } = await app.pool.query<{ resource_id: string }>("SELECT resource_id FROM template_step_resources WHERE tenant_id = $1 AND run_id = $2 AND kind = 'change'", [app.tenant, runId]);
      if (!rows[0]) return undefined;
      const change = await app.http('GET', `/api/v1/changes/${rows[0].resource_id}`, { token: cab });
      return change.body.data?.state === 'cab_review' ? rows[0].resource_id : undefined;
    }, 60_000, 50);
    expect((await app.http('POST', `/api/v1/changes/${changeId}/approve`, { token: cab, body: { comment: 'fine' } })).status).toBe(200);
    const id = workflowId(app.tenant, 'template-run', runId);
    expect(await app.client.workflow.getHandle(id).result()).toEqual({ id: runId, status: 'succeeded' });
    await record(id, 'change-request-then-notify-integration');
  });

  test('templateRun: a gate, a promotion as a child, then a redeploy of it as a child deployment job', async () => {
    const p = await buildPipeline(app, { requiredApprovals: 0 });
    const rita = await app.token('rita@example.com', { roles: ['release-manager'] });
    const nodes = [
      { id: 'gate_staging', type: 'gate', inputs: { releaseId: p.release.id, environmentId: p.staging.id } },
      { id: 'to_staging', type: 'promote', dependsOn: ['gate_staging'], inputs: { releaseId: p.release.id, environmentId: p.staging.id, reason: 'pipeline' } },
      { id: 'redeploy', type: 'deploy', dependsOn: ['to_staging'], inputs: { promotionId: '${{ steps.to_staging.outputs.promotionId }}' } },
    ];
    const template = await app.http('POST', '/api/v1/workflow-templates', { token: rita, body: { name: 'gate promote redeploy', nodes } });
    expect(template.status).toBe(201);
    const run = await app.http('POST', '/api/v1/workflow-runs', { token: rita, body: { templateId: template.body.data.id, parameters: {} } });
    expect(run.status).toBe(201);
    const id = workflowId(app.tenant, 'template-run', run.body.data.id);
    expect(await app.client.workflow.getHandle(id).result()).toEqual({ id: run.body.data.id, status: 'succeeded' });
    await record(id, 'gate-promote-child-deploy');
  });

  async function record(id: string, name: string): Promise<void> {
    const file = `${TEMPLATE_RUN_WORKFLOW_TYPE}.${name}.json`;
    if (writeCorpusHistory(file, await app.client.workflow.getHandle(id).fetchHistory())) written.push(file);
  }
});

describeRecording('recording an integration call', () => {
  let app: TestApp;
  let server: StepServer;

  beforeAll(async () => {
    app = await startTestApp({ env: { ...RECORDING_ENV, INTEGRATION_HEALTH_INTERVAL: '1h' } });
    server = await startStepServer();
  });
  afterAll(async () => {
    await server?.close();
    await app?.close();
  });

  test('integrationCall: an HTTP gate integration tested on the worker', async () => {
    const admin = await app.token('rita@example.com', { roles: ['release-manager'] });
    const created = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'http-gate', name: 'ready-gate', config: { url: `${server.url}/echo/ready` } } });
    expect(created.status).toBe(201);
    const input: IntegrationCallInput = { tenantId: app.tenant, target: { source: 'integration', id: created.body.data.id }, operation: 'test' };
    const id = workflowId(app.tenant, 'integration-call', `${created.body.data.id}:recorded`);
    const handle = await app.client.workflow.start<typeof integrationCall>(INTEGRATION_CALL_WORKFLOW_TYPE, {
      workflowId: id,
      taskQueue: app.config.TEMPORAL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: callSearchAttributesOf(app.tenant, input.target, 'test'),
      staticSummary: 'Test of integration ready-gate',
    });
    expect(await handle.result()).toMatchObject({ ok: true, reason: null });
    writeCorpusHistory(`${INTEGRATION_CALL_WORKFLOW_TYPE}.http-gate-tested.json`, await handle.fetchHistory());
  });
});

import { Client } from '@temporalio/client';
import { startTestApp, type TestApp } from '../support/app';
import { createChange, standardChange, step } from '../support/changes';
import { eventually, until } from '../support/eventually';
import { createIncident, getIncident, patchIncident } from '../support/incidents';
import { awaiting, reaches, request, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * An operator's Cancel or Terminate in the Temporal UI (here the same calls
 * through a client that names itself as the UI would) behind a record in a live
 * state: the next command, or the worker's periodic sweep when nobody sends one,
 * marks the record with who ended the run and why, every command answers a 409
 * saying so, and reconcile starts a new run from the record where that is safe.
 */
let app: TestApp;
let swept: TestApp;
let operator: Client;
const OPERATOR = 'ops@temporal-ui';

beforeAll(async () => {
  // No sweep after the first one at start: these records are found by commands only.
  app = await startTestApp({ env: { ENDED_WORKFLOW_SWEEP_INTERVAL: '1h', DEPLOY_PICKUP_TIMEOUT: '120s' } });
  swept = await startTestApp({ env: { ENDED_WORKFLOW_SWEEP_INTERVAL: '1s' } });
  operator = new Client({ connection: app.client.connection, namespace: 'default', identity: OPERATOR });
});
afterAll(async () => {
  await app?.close();
  await swept?.close();
});

/** Waits until Temporal reports the run closed with `status`. */
async function closed(workflowId: string, status: string): Promise<void> {
  await eventually(async () => expect((await operator.workflow.getHandle(workflowId).describe()).status.name).toBe(status));
}

describe('changes', () => {
  test('Terminate on a draft: the next command marks it cancelled, says so in a 409, and reconcile brings it back to be driven to its end', async () => {
    const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
    const change = await createChange(app, owner, standardChange({ short_description: 'Terminated in the UI' }));
    const id = `${app.tenant}:change:${change.id}`;
    await operator.workflow.getHandle(id).terminate('wrong button');
    await closed(id, 'TERMINATED');

    for (const [method, path, body] of [['POST', 'cancel', {}], ['POST', 'submit', undefined], ['PATCH', '', { description: 'x' }]] as const) {
      const res = await app.http(method, `/prod/api/changes/${change.id}${path ? `/${path}` : ''}`, { token: owner, body });
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({
        code: 'WORKFLOW_ENDED_OUTSIDE',
        details: { currentState: 'cancelled', previousState: 'draft', workflow: { how: 'terminated', by: OPERATOR, reason: 'wrong button' }, reconcile: `/prod/api/changes/${change.id}/reconcile` },
      });
      expect(res.body.error.message).toContain(`terminated outside Tollgate by ${OPERATOR}`);
      expect(res.body.error.message).toContain('reconcile');
    }
    expect((await app.http('GET', `/prod/api/changes/${change.id}`, { token: owner })).body).toMatchObject({ state: 'cancelled', version: 2 });
    const history = (await app.http('GET', `/prod/api/changes/${change.id}/history`, { token: owner })).body;
    expect(history.filter((e: any) => e.action === 'change.workflow_ended_outside')).toEqual([
      expect.objectContaining({ actor: OPERATOR, before: { state: 'draft', version: 1 }, after: expect.objectContaining({ state: 'cancelled', version: 2 }) }),
    ]);

    const viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
    const refused = await app.http('POST', `/prod/api/changes/${change.id}/reconcile`, { token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.body.error.details.required).toBe('workflow:reconcile');

    const back = await app.http('POST', `/prod/api/changes/${change.id}/reconcile`, { token: owner });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ state: 'draft', version: 3, cancelled_at: null });
    expect((await app.http('POST', `/prod/api/changes/${change.id}/reconcile`, { token: owner })).body.error.code).toBe('NOTHING_TO_RECONCILE');
    expect((await step(app, owner, 'POST', `${change.id}/submit`)).state).toBe('scheduled');
    await step(app, owner, 'PATCH', change.id, { state: 'in_progress' });
    await step(app, owner, 'PATCH', change.id, { state: 'completed' });
    expect((await step(app, owner, 'PATCH', change.id, { state: 'closed' })).state).toBe('closed');
    await closed(id, 'COMPLETED');
    const actions = (await app.http('GET', `/prod/api/changes/${change.id}/history`, { token: owner })).body.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['change.workflow_ended_outside', 'change.reconcile', 'change.close']));
  });

  test('Cancel on a draft records it cancelled by the operator, and reconcile refuses: a cancel in Temporal is final', async () => {
    const owner = await app.token('owner@example.com', { roles: ['release-manager'] });
    const change = await createChange(app, owner, standardChange({ short_description: 'Cancelled in the UI' }));
    const id = `${app.tenant}:change:${change.id}`;
    await operator.workflow.getHandle(id).cancel();
    await closed(id, 'CANCELLED');

    const res = await app.http('POST', `/prod/api/changes/${change.id}/cancel`, { token: owner, body: {} });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'WORKFLOW_ENDED_OUTSIDE', details: { currentState: 'cancelled', workflow: { how: 'cancelled', by: OPERATOR }, reconcile: null } });
    expect((await app.http('GET', `/prod/api/changes/${change.id}`, { token: owner })).body.state).toBe('cancelled');
    const reconcile = await app.http('POST', `/prod/api/changes/${change.id}/reconcile`, { token: owner });
    expect(reconcile.status).toBe(409);
    expect(reconcile.body.error.code).toBe('RECONCILE_REFUSED');
    expect(reconcile.body.error.message).toContain(`cancelled in Temporal by ${OPERATOR}`);
  });

  test('the sweep marks a terminated draft nobody touches', async () => {
    const owner = await swept.token('owner@example.com', { roles: ['release-manager'] });
    const change = await createChange(swept, owner, standardChange({ short_description: 'Left alone' }));
    await operator.workflow.getHandle(`${swept.tenant}:change:${change.id}`).terminate('cleanup');
    await eventually(async () => expect((await swept.http('GET', `/prod/api/changes/${change.id}`, { token: owner })).body.state).toBe('cancelled'));
    const history = (await swept.http('GET', `/prod/api/changes/${change.id}/history`, { token: owner })).body;
    expect(history.find((e: any) => e.action === 'change.workflow_ended_outside')).toMatchObject({ actor: OPERATOR, after: { workflow: { how: 'terminated', reason: 'cleanup' } } });
  });
});

describe('promotions', () => {
  let s: Scene;
  beforeEach(async () => {
    s = await scene(app);
  });

  const auditOf = async (t: TestApp, tenant: string, id: string) =>
    (await t.pool.query(`SELECT actor, action, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action LIKE '%workflow_ended_outside'`, [tenant, id])).rows;

  /** A promotion awaiting approval whose workflow an operator terminated in Temporal. */
  async function terminatedWhileAwaiting(st: Awaited<ReturnType<typeof stage>>) {
    const p = await awaiting(s, s.admin, st);
    const id = `${s.tenant}:promotion:${p.id}`;
    await operator.workflow.getHandle(id).terminate('stuck');
    await closed(id, 'TERMINATED');
    return { p, id };
  }

  test('Terminate while awaiting approval: marked failed (not ALREADY_DECIDED with no decision), reconcile restores it, and it can be ended', async () => {
    const { p, id } = await terminatedWhileAwaiting(await stage(s));

    const refused = await s.refuse(409, 'POST', `/promotions/${p.id}/cancel`, s.admin, {});
    expect(refused).toMatchObject({
      code: 'WORKFLOW_ENDED_OUTSIDE',
      details: { currentState: 'failed', previousState: 'awaiting_approval', workflow: { how: 'terminated', by: OPERATOR, reason: 'stuck' }, reconcile: `/api/v1/promotions/${p.id}/reconcile` },
    });
    const marked = await s.expect(200, 'GET', `/promotions/${p.id}`);
    expect(marked).toMatchObject({ status: 'failed', decision: 'deny' });
    expect(marked.statusReason).toContain(`terminated outside Tollgate by ${OPERATOR}`);
    expect(marked.decidedAt).not.toBeNull();
    expect(await auditOf(app, s.tenant, p.id)).toEqual([expect.objectContaining({ actor: OPERATOR, action: 'promotion.workflow_ended_outside' })]);

    const back = await s.expect(200, 'POST', `/promotions/${p.id}/reconcile`);
    expect(back).toMatchObject({ status: 'awaiting_approval', statusReason: null, decidedAt: null, decision: null });
    await closed(id, 'RUNNING');
    expect(await s.expect(200, 'POST', `/promotions/${p.id}/cancel`, s.admin, { reason: 'changed my mind' })).toMatchObject({ status: 'cancelled' });
    await closed(id, 'COMPLETED');
  });

  test('reconcile does not reopen a promotion beside another open one of the same release and environment', async () => {
    const st = await stage(s);
    const { p } = await terminatedWhileAwaiting(st);
    expect((await s.refuse(409, 'POST', `/promotions/${p.id}/cancel`, s.admin, {})).code).toBe('WORKFLOW_ENDED_OUTSIDE');
    // Marked failed, it no longer holds the pair: a new request goes through, and the old one cannot come back beside it.
    const next = await awaiting(s, s.admin, st);
    const refused = await s.refuse(409, 'POST', `/promotions/${p.id}/reconcile`);
    expect(refused).toMatchObject({ code: 'PROMOTION_IN_FLIGHT', details: { promotionId: next.id } });
    expect(await s.expect(200, 'GET', `/promotions/${p.id}`)).toMatchObject({ status: 'failed' });
  });

  test('the sweep marks a promotion cancelled in Temporal that nobody touches, with the operator as its actor', async () => {
    const t = await scene(swept);
    const p = await awaiting(t, t.admin, await stage(t));
    await operator.workflow.getHandle(`${t.tenant}:promotion:${p.id}`).cancel();
    const marked = await reaches(t, p.id, 'cancelled');
    expect(marked.statusReason).toContain(`cancelled outside Tollgate by ${OPERATOR}`);
    expect(await auditOf(swept, t.tenant, p.id)).toEqual([expect.objectContaining({ actor: OPERATOR })]);
    expect((await t.refuse(409, 'POST', `/promotions/${p.id}/reconcile`)).code).toBe('RECONCILE_REFUSED');
  });

  test('Terminate on a running deployment job: the job is failed, its waiting task cancelled, and no reconcile is offered', async () => {
    const st = await stage(s, { env: { requiredApprovals: 0 } });
    await s.expect(201, 'POST', '/targets', s.admin, { name: 'web-held', environmentId: st.env.id, labels: { role: 'web' } });
    await s.expect(201, 'POST', '/agents/register', s.admin, { name: 'never-started', environmentId: st.env.id, targets: ['web-held'] });
    const p = await request(s, s.admin, st);
    await reaches(s, p.id, 'deploying');
    const job = await until('the job', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${p.id}`))[0]);
    await until('its task to wait on its agent', async () => (await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks`)).some((x: any) => x.status === 'running'));
    const id = `${s.tenant}:deployment:${job.id}`;
    await operator.workflow.getHandle(id).terminate('agent host retired');
    await closed(id, 'TERMINATED');

    const operatorToken = await s.token('sre@example.com', { roles: ['sre'] });
    const refused = await s.refuse(409, 'POST', `/deployment-jobs/${job.id}/cancel`, operatorToken, { reason: 'stop' });
    expect(refused).toMatchObject({ code: 'WORKFLOW_ENDED_OUTSIDE', details: { currentState: 'failed', previousState: 'running', workflow: { how: 'terminated', by: OPERATOR }, reconcile: null } });
    expect(refused.message).toContain('deploy the release again, or roll the environment back');
    const marked = await s.expect(200, 'GET', `/deployment-jobs/${job.id}`);
    expect(marked).toMatchObject({ status: 'failed', progress: { total: 1, cancelled: 1, running: 0 } });
    expect(marked.statusReason).toContain('agent host retired');
    expect((await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks`)).map((x: any) => x.status)).toEqual(['cancelled']);
    expect(await auditOf(app, s.tenant, job.id)).toEqual([expect.objectContaining({ actor: OPERATOR, action: 'deployment_job.workflow_ended_outside' })]);
    // The promotion's own run saw its child fail and ended on its own.
    expect((await reaches(s, p.id, 'failed')).statusReason).toContain(job.id);
  });
});

describe('incidents', () => {
  test('an incident whose SLA workflow was terminated takes its next write, which starts a new SLA run', async () => {
    const token = await app.token('olga@example.com', { roles: ['sre'] });
    const incident = await createIncident(app, token, { short_description: 'Queue depth rising', priority: 'P3' });
    const id = `${app.tenant}:incident:${incident.id}`;
    await eventually(async () => expect((await operator.workflow.getHandle(id).describe()).status.name).toBe('RUNNING'));
    const { runId } = await operator.workflow.getHandle(id).describe();
    await operator.workflow.getHandle(id).terminate('clock reset');
    await closed(id, 'TERMINATED');

    const edited = await patchIncident(app, token, incident.id, { priority: 'P2' });
    expect(edited.priority).toBe('P2');
    await eventually(async () => {
      const now = await operator.workflow.getHandle(id).describe();
      expect([now.status.name, now.runId === runId]).toEqual(['RUNNING', false]);
    });
    expect((await getIncident(app, token, incident.id)).priority).toBe('P2');
  });
});

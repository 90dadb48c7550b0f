import { Client } from '@temporalio/client';
import { workflowId } from '../../domain/workflow-ids';
import { createLogger } from '../../platform/logger';
import { sweepOnce } from '../../worker/ended-workflow-sweep';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { scene, type Scene } from '../support/promotion-scene';
import { rolloutStage, type RolloutStage } from '../support/rollout-scene';

/**
 * A rollout whose workflow an operator terminates in the Temporal UI while the
 * canary has 10 % (here the same call through a client that names itself as
 * the UI would): a command, the sweep or reconcile marks it failed with who
 * ended the run, and a new run of its workflow puts the router back on stable
 * through the router's agent (a real worker over an in-memory router).
 */
let app: TestApp;
let s: Scene;
let operator: Client;
const OPERATOR = 'ops@temporal-ui';
const stages: RolloutStage[] = [];

beforeAll(async () => {
  // The worker's own sweep stays out of the way: these rollouts are found by a command, a sweep called here, or reconcile.
  app = await startTestApp({ env: { ENDED_WORKFLOW_SWEEP_INTERVAL: '1h' } });
  s = await scene(app);
  operator = new Client({ connection: app.client.connection, namespace: 'default', identity: OPERATOR });
});
afterAll(async () => {
  for (const st of stages) await st.close();
  await app?.close();
});

/** A rollout running at 10 % to the canary, in a pause of 30 s. */
async function runningAtTen(): Promise<{ st: RolloutStage; id: string; wf: string }> {
  const st = await rolloutStage(s, app);
  stages.push(st);
  const created = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body());
  await s.expect(200, 'POST', `/ab-releases/${created.id}/start`, s.admin, { reason: 'go' });
  await eventually(async () => expect(await s.expect(200, 'GET', `/ab-releases/${created.id}`)).toMatchObject({ state: 'running', stepIndex: 1, canaryWeight: 10 }));
  expect(st.router.routeOf(st.env.id).canaryWeight).toBe(10);
  return { st, id: created.id, wf: workflowId(s.tenant, 'rollout', created.id) };
}

async function terminate(wf: string, reason: string): Promise<void> {
  await operator.workflow.getHandle(wf).terminate(reason);
  await eventually(async () => expect((await operator.workflow.getHandle(wf).describe()).status.name).toBe('TERMINATED'));
}

/** The router has only stable again, and GET …/traffic reads it back so through the agent. */
async function backOnStable(st: RolloutStage, id: string): Promise<void> {
  await eventually(async () => {
    expect(st.router.routeOf(st.env.id)).toMatchObject({ canaryWeight: 0, match: null });
    expect(await s.expect(200, 'GET', `/ab-releases/${id}/traffic`)).toMatchObject({ live: true, traffic: { canaryWeight: 0, stableWeight: 100, match: null } });
    expect(await s.expect(200, 'GET', `/ab-releases/${id}`)).toMatchObject({ canaryWeight: 0, activeMatch: null, traffic: { canaryWeight: 0 } });
  });
}

async function auditOf(id: string): Promise<Array<{ actor: string; action: string; before: any; after: any }>> {
  const { rows } = await app.pool.query(`SELECT actor, action, before, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY occurred_at, id`, [s.tenant, id]);
  return rows;
}

test('a command on a terminated rollout answers 409 WORKFLOW_ENDED_OUTSIDE; the rollout is failed, the canary loses its traffic, and retry runs it again', async () => {
  const { st, id, wf } = await runningAtTen();
  await terminate(wf, 'wrong button');

  const refused = await s.refuse(409, 'POST', `/ab-releases/${id}/pause`, s.admin, { reason: 'hold' });
  expect(refused).toMatchObject({
    code: 'WORKFLOW_ENDED_OUTSIDE',
    details: { currentState: 'failed', previousState: 'running', workflow: { how: 'terminated', by: OPERATOR, reason: 'wrong button' }, reconcile: `/api/v1/ab-releases/${id}/reconcile` },
  });
  expect(refused.message).toContain(`terminated outside Tollgate by ${OPERATOR}`);
  await backOnStable(st, id);

  const r = await s.expect(200, 'GET', `/ab-releases/${id}`);
  expect(r).toMatchObject({ state: 'failed', abortReason: expect.stringContaining('wrong button') });
  expect(r.history.map((h: any) => [h.action, h.by])).toContainEqual(['rollout.workflow_ended_outside', OPERATOR]);
  const audit = await auditOf(id);
  expect(audit.filter((a) => a.action === 'rollout.workflow_ended_outside')).toEqual([
    expect.objectContaining({ actor: OPERATOR, before: expect.objectContaining({ state: 'running', canaryWeight: 10 }), after: expect.objectContaining({ state: 'failed' }) }),
  ]);
  expect(audit.map((a) => a.action)).toContain('rollout.restored');

  // The new run is open: nothing to reconcile, and the rollout takes commands again.
  expect((await s.refuse(409, 'POST', `/ab-releases/${id}/reconcile`)).code).toBe('NOTHING_TO_RECONCILE');
  expect((await s.refuse(409, 'POST', `/ab-releases/${id}/pause`, s.admin, {})).code).toBe('INVALID_STATE_TRANSITION');
  expect(await s.expect(200, 'POST', `/ab-releases/${id}/retry`, s.admin, { reason: 'again' })).toMatchObject({ state: 'running', stepIndex: 0 });
  await eventually(async () => expect(st.router.routeOf(st.env.id).canaryWeight).toBe(10));
  await s.expect(200, 'POST', `/ab-releases/${id}/rollback`, s.admin, { reason: 'done here' });
});

test('the sweep marks a terminated rollout nobody touches and puts its traffic back on stable', async () => {
  const { st, id, wf } = await runningAtTen();
  await terminate(wf, 'host drained');
  const deps = { pool: app.pool, config: app.config, log: createLogger('test', 'silent'), client: app.client };
  // Visibility lags a little behind the close: sweep until the run shows up in it.
  await eventually(async () => {
    await sweepOnce(app.client, deps, app.config.TEMPORAL_TASK_QUEUE, undefined);
    expect(await s.expect(200, 'GET', `/ab-releases/${id}`)).toMatchObject({ state: 'failed', abortReason: expect.stringContaining('host drained') });
  });
  await backOnStable(st, id);
  expect((await auditOf(id)).filter((a) => a.action === 'rollout.workflow_ended_outside')).toEqual([expect.objectContaining({ actor: OPERATOR })]);
  // A second sweep finds the run it started open, and leaves the rollout alone.
  const before = await s.expect(200, 'GET', `/ab-releases/${id}`);
  await sweepOnce(app.client, deps, app.config.TEMPORAL_TASK_QUEUE, undefined);
  expect((await s.expect(200, 'GET', `/ab-releases/${id}`)).version).toBe(before.version);
});

test('reconcile (workflow:reconcile) marks a terminated rollout, answers it with the router read back on stable, and writes an audit row', async () => {
  const { st, id, wf } = await runningAtTen();
  await terminate(wf, 'stuck');
  const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
  expect((await s.refuse(403, 'POST', `/ab-releases/${id}/reconcile`, viewer)).code).toBeDefined();
  expect(st.router.routeOf(st.env.id).canaryWeight).toBe(10);

  const sre = await s.token('sre@example.com', { roles: ['sre'] });
  const reconciled = await s.expect(200, 'POST', `/ab-releases/${id}/reconcile`, sre);
  expect(reconciled).toMatchObject({ state: 'failed', canaryWeight: 0, activeMatch: null, traffic: { canaryWeight: 0 }, abortReason: expect.stringContaining('stuck') });
  expect(st.router.routeOf(st.env.id).canaryWeight).toBe(0);
  await backOnStable(st, id);
  const audit = await auditOf(id);
  expect(audit.filter((a) => a.action === 'rollout.reconcile')).toEqual([
    expect.objectContaining({ actor: 'sre@example.com', before: expect.objectContaining({ state: 'running', canaryWeight: 10 }), after: expect.objectContaining({ state: 'failed' }) }),
  ]);
  expect((await s.refuse(409, 'POST', `/ab-releases/${id}/reconcile`, sre)).code).toBe('NOTHING_TO_RECONCILE');
  expect((await s.refuse(404, 'POST', `/ab-releases/00000000-0000-4000-8000-000000000000/reconcile`, sre)).code).toBe('ROLLOUT_NOT_FOUND');
});

test('a Cancel in Temporal aborts the rollout by its own undo; reconcile refuses to start it again', async () => {
  const { st, id, wf } = await runningAtTen();
  await operator.workflow.getHandle(wf).cancel();
  await eventually(async () => expect((await operator.workflow.getHandle(wf).describe()).status.name).toBe('CANCELLED'));
  expect(await s.expect(200, 'GET', `/ab-releases/${id}`)).toMatchObject({ state: 'aborted', canaryWeight: 0 });
  expect(st.router.routeOf(st.env.id).canaryWeight).toBe(0);
  const refused = await s.refuse(409, 'POST', `/ab-releases/${id}/reconcile`);
  expect(refused).toMatchObject({ code: 'RECONCILE_REFUSED', details: { currentState: 'aborted', workflow: { how: 'cancelled', by: OPERATOR } } });
});

test('one terminated before it started: start answers 409 WORKFLOW_ENDED_OUTSIDE, nothing touches the router, and retry walks it from its first step', async () => {
  const st = await rolloutStage(s, app);
  stages.push(st);
  const created = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body());
  const wf = workflowId(s.tenant, 'rollout', created.id);
  await terminate(wf, 'not today');
  const refused = await s.refuse(409, 'POST', `/ab-releases/${created.id}/start`, s.admin, { reason: 'go' });
  expect(refused).toMatchObject({ code: 'WORKFLOW_ENDED_OUTSIDE', details: { currentState: 'failed', previousState: 'created', workflow: { how: 'terminated', reason: 'not today' } } });
  expect(await s.expect(200, 'GET', `/ab-releases/${created.id}`)).toMatchObject({ state: 'failed', plan: null, traffic: null });
  expect(st.router.routeOf(st.env.id).sets).toEqual([]);
  expect(await s.expect(200, 'POST', `/ab-releases/${created.id}/retry`, s.admin, { reason: 'now' })).toMatchObject({ state: 'running', stepIndex: 0 });
  await eventually(async () => expect(st.router.routeOf(st.env.id).canaryWeight).toBe(10));
  await s.expect(200, 'POST', `/ab-releases/${created.id}/rollback`, s.admin, { reason: 'done here' });
});

import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { scene, type Scene } from '../support/promotion-scene';
import { rolloutReaches, rolloutStages } from '../support/rollout-scene';

/**
 * PROGDL through the API: /ab-releases create, list, get, the commands, the
 * router's traffic read back, health with re-judging, /rollout-strategies,
 * the start refusals and permissions. The router agent is a real worker on
 * the agent's queue over an in-memory router (test/support/rollout-scene.ts).
 */
let app: TestApp;
let s: Scene;
const stages = rolloutStages(() => s, () => app);

beforeAll(async () => {
  app = await startTestApp();
  s = await scene(app);
});
afterAll(async () => {
  await stages.closeAll();
  await app?.close();
});

const newStage = stages.add;

const reaches = rolloutReaches(() => s);

test('the issue’s create body answers 201 created; get and list (with filters) show it; start moves it to running', async () => {
  const st = await newStage();
  const res = await s.call('POST', '/ab-releases', s.admin, st.body());
  expect(res.status).toBe(201);
  const created = res.body.data;
  expect(created).toMatchObject({ name: 'myapp 2.4 canary', state: 'created', strategy: 'canary', stepIndex: 0, canaryWeight: 0, environmentName: st.env.name, canaryReleaseName: st.canary.name });
  expect(created.steps).toHaveLength(5);
  expect(res.headers.get('location')).toMatch(new RegExp(`/ab-releases/${created.id}$`));
  expect(await s.expect(200, 'GET', `/ab-releases/${created.id}`)).toMatchObject({ id: created.id, state: 'created' });
  const listed = await s.expect(200, 'GET', `/ab-releases?environmentId=${st.env.id}&state=created&strategy=canary&releaseId=${st.canary.id}`);
  expect(listed.map((r: any) => r.id)).toEqual([created.id]);
  expect(await s.expect(200, 'GET', `/ab-releases?environmentId=${st.env.id}&state=running`)).toEqual([]);

  const started = await s.expect(200, 'POST', `/ab-releases/${created.id}/start`, s.admin, { reason: 'go' });
  expect(started).toMatchObject({ state: 'running', plan: { routerAgentId: st.agentId, canary: [expect.objectContaining({ port: 14002, host: '127.0.0.1' })] } });
  const at10 = await reaches(created.id, (r) => expect(r).toMatchObject({ stepIndex: 1, canaryWeight: 10 }));
  expect(at10.traffic).toMatchObject({ canaryWeight: 10, provider: 'haproxy' });
  const traffic = await s.expect(200, 'GET', `/ab-releases/${created.id}/traffic`);
  expect(traffic).toMatchObject({ live: true, state: 'running', requested: { canaryWeight: 10 }, traffic: { canaryWeight: 10, stableWeight: 90 } });

  // Paused and resumed by a person, then promoted past the rest at once.
  expect(await s.expect(200, 'POST', `/ab-releases/${created.id}/pause`, s.admin, { reason: 'look closer' })).toMatchObject({ state: 'paused' });
  expect(await s.expect(200, 'POST', `/ab-releases/${created.id}/resume`, s.admin, {})).toMatchObject({ state: 'running' });
  expect(await s.expect(200, 'POST', `/ab-releases/${created.id}/promote`, s.admin, { full: true, reason: 'confident' })).toMatchObject({ stepIndex: 5 });
  const done = await reaches(created.id, (r) => expect(r).toMatchObject({ state: 'completed', canaryWeight: 100 }));
  expect(done.history.map((h: any) => [h.action, h.by])).toEqual(expect.arrayContaining([['rollout.pause', 'admin@example.com'], ['rollout.promote_full', 'admin@example.com']]));
  expect(st.router.routeOf(st.env.id).canaryWeight).toBe(100);
  const after = await s.expect(200, 'GET', `/ab-releases/${created.id}/traffic`);
  expect(after).toMatchObject({ live: false, note: expect.stringMatching(/completed/), traffic: { canaryWeight: 100 } });
  const refused = await s.refuse(409, 'POST', `/ab-releases/${created.id}/advance`, s.admin, {});
  expect(refused.code).toMatch(/ROLLOUT_ENDED|INVALID_STATE_TRANSITION/);
});

test('bad bodies are refused naming the field; unknown environment and releases are 422 naming theirs', async () => {
  const st = await newStage();
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ steps: [{ setWeight: 150 }] }, 'steps.0.setWeight'],
    [{ steps: [{ analysis: { metric: 'latency-p99', max: 200 } }] }, 'steps.0.analysis.metric'],
    [{ steps: [{ pause: { duration: 'a while' } }] }, 'steps.0.pause.duration'],
    [{ strategy: 'abTest', steps: undefined }, 'match'],
    [{ strategy: 'rainbow' }, 'strategy'],
    [{ environmentId: 'nope' }, 'environmentId'],
  ];
  for (const [patch, field] of cases) {
    const res = await s.call('POST', '/ab-releases', s.admin, st.body(patch));
    expect({ patch, status: res.status }).toEqual({ patch, status: 400 });
    expect(res.body.error.validationErrors.map((v: any) => v.field)).toContain(field);
  }
  const noEnv = await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ environmentId: randomUUID() }));
  expect(noEnv).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND', details: { field: 'environmentId' } });
  const noRelease = await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ canaryReleaseId: randomUUID() }));
  expect(noRelease).toMatchObject({ code: 'RELEASE_NOT_FOUND', details: { field: 'canaryReleaseId' } });
  await s.refuse(404, 'GET', `/ab-releases/${randomUUID()}`);
});

test('permissions: viewers read, only rollout:create creates and rollout:operate operates', async () => {
  const st = await newStage();
  const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
  const developer = await s.token('dev@example.com', { roles: ['developer'] });
  const sre = await s.token('sre@example.com', { roles: ['sre'] });
  expect((await s.refuse(403, 'POST', '/ab-releases', viewer, st.body())).message).toMatch(/rollout:create/);
  await s.refuse(403, 'POST', '/ab-releases', developer, st.body());
  const created = await s.expect(201, 'POST', '/ab-releases', sre, st.body());
  expect((await s.refuse(403, 'POST', `/ab-releases/${created.id}/start`, viewer, {})).message).toMatch(/rollout:operate/);
  await s.refuse(403, 'POST', `/ab-releases/${created.id}/rollback`, developer, { reason: 'no' });
  expect(await s.expect(200, 'GET', `/ab-releases/${created.id}`, viewer)).toMatchObject({ id: created.id });
  expect((await s.expect(200, 'GET', '/rollout-strategies', viewer)).map((x: any) => x.name)).toEqual(['canary', 'blueGreen', 'abTest']);
  expect(await s.expect(200, 'POST', `/ab-releases/${created.id}/rollback`, sre, { reason: 'not today' })).toMatchObject({ state: 'aborted', abortReason: 'rolled back by sre@example.com: not today' });
});

test('start is refused with a clear 409 when no agent drives a router; canary targets that do not run the canary release get it from a deployment job first, and a failed one fails the rollout with no traffic moved', async () => {
  const routerless = await newStage({ routerless: true });
  const a = await s.expect(201, 'POST', '/ab-releases', s.admin, routerless.body());
  const noRouter = await s.refuse(409, 'POST', `/ab-releases/${a.id}/start`, s.admin, {});
  expect(noRouter).toMatchObject({ code: 'NO_ROUTER', message: expect.stringContaining('npm run agent -- --router haproxy --router-listen') });
  const undeployed = await newStage({ canaryDeployed: false });
  const b = await s.expect(201, 'POST', '/ab-releases', s.admin, undeployed.body());
  const started = await s.expect(200, 'POST', `/ab-releases/${b.id}/start`, s.admin, {});
  const canaryTargetId = started.plan.canary[0].targetId;
  expect(started).toMatchObject({ state: 'running', canaryDeployment: { releaseId: undeployed.canary.id, targetIds: [canaryTargetId] } });
  // No step moves while the canary is being deployed.
  const early = await s.call('POST', `/ab-releases/${b.id}/promote`, s.admin, { full: true });
  expect([409]).toContain(early.status);
  expect(early.body.error.code).toMatch(/CANARY_DEPLOYING|INVALID_STATE_TRANSITION/);
  // The test's targets have no agent: the job (the deployments module's own, only on the canary target) fails, and so does the rollout.
  const failed = await reaches(b.id, (r) => expect(r).toMatchObject({ state: 'failed', canaryDeployment: { status: 'failed' } }));
  expect(failed.abortReason).toMatch(/deploying .* to the canary targets failed .*no traffic was moved/);
  const job = await s.expect(200, 'GET', `/deployment-jobs/${failed.canaryDeployment.jobId}`);
  expect(job).toMatchObject({ kind: 'rollout', releaseId: undeployed.canary.id, environmentId: undeployed.env.id });
  const { rows } = await app.pool.query('SELECT DISTINCT target_id FROM deployment_tasks WHERE tenant_id = $1 AND job_id = $2', [s.tenant, failed.canaryDeployment.jobId]);
  expect(rows.map((r) => r.target_id)).toEqual([canaryTargetId]);
  expect(undeployed.router.routeOf(undeployed.env.id).sets.every((x) => x.canaryWeight === 0)).toBe(true);
  expect(failed.history.map((h: any) => h.action)).toEqual(expect.arrayContaining(['rollout.deploy_canary', 'rollout.canary_deploy_failed', 'rollout.fail']));
});

test('advance ends a pause or an analysis only: during a weight change it is 409 NOT_WAITING naming the step, and nothing is skipped', async () => {
  const st = await newStage();
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 30 }, { pause: {} }] }));
  await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, {});
  await reaches(r.id, (x) => expect(x).toMatchObject({ state: 'paused', stepIndex: 1, canaryWeight: 10 }));
  // The router's agent goes away: the next weight change waits on it, so the rollout is for a while at a weight step.
  await st.close();
  expect(await s.expect(200, 'POST', `/ab-releases/${r.id}/promote`, s.admin, {})).toMatchObject({ state: 'running', stepIndex: 2 });
  const refused = await s.refuse(409, 'POST', `/ab-releases/${r.id}/advance`, s.admin, {});
  expect(refused).toMatchObject({ code: 'NOT_WAITING', details: { stepIndex: 2, step: 'set weight 30%' } });
  expect(await s.expect(200, 'GET', `/ab-releases/${r.id}`)).toMatchObject({ stepIndex: 2 });
  await s.expect(200, 'POST', `/ab-releases/${r.id}/rollback`, s.admin, { reason: 'cleanup' });
});

test('a second rollout of the same environment cannot start while one runs (ROLLOUT_IN_FLIGHT); a rollback puts traffic back and frees it', async () => {
  const st = await newStage();
  const first = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 25 }, { pause: {} }] }));
  const second = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ name: 'second' }));
  await s.expect(200, 'POST', `/ab-releases/${first.id}/start`, s.admin, {});
  const busy = await s.refuse(409, 'POST', `/ab-releases/${second.id}/start`, s.admin, {});
  expect(busy).toMatchObject({ code: 'ROLLOUT_IN_FLIGHT', details: { rolloutId: first.id } });
  await reaches(first.id, (r) => expect(r).toMatchObject({ state: 'paused', canaryWeight: 25 }));
  const noReason = await s.call('POST', `/ab-releases/${first.id}/rollback`, s.admin, {});
  expect(noReason.status).toBe(400);
  expect(noReason.body.error.validationErrors.map((v: any) => v.field)).toContain('reason');
  const rolled = await s.expect(200, 'POST', `/ab-releases/${first.id}/rollback`, s.admin, { reason: 'abort during the pause' });
  expect(rolled).toMatchObject({ state: 'aborted', canaryWeight: 0 });
  expect(st.router.routeOf(st.env.id)).toMatchObject({ canaryWeight: 0, match: null });
  // Its scale-down (stable back on the canary target) holds the environment until it ends: here it fails, the test's targets have no agent.
  const early = await s.call('POST', `/ab-releases/${second.id}/start`, s.admin, {});
  if (early.status === 409) expect(early.body.error).toMatchObject({ code: 'ROLLOUT_IN_FLIGHT', details: { rolloutId: first.id, scalingDown: true } });
  else expect(early.status).toBe(200);
  const scaled = await reaches(first.id, (r) => expect(['deployed', 'failed']).toContain(r.scaleDown?.status));
  expect(scaled.history.map((h: any) => h.action)).toEqual(expect.arrayContaining(['rollout.scale_down', 'rollout.scale_down_failed']));
  if (early.status === 409) expect(await s.expect(200, 'POST', `/ab-releases/${second.id}/start`, s.admin, {})).toMatchObject({ state: 'running' });
  // A run terminated outside Tollgate leaves its row running; it does not hold the environment.
  await app.client.workflow.getHandle(`${s.tenant}:rollout:${second.id}`).terminate('operator ended it in the Temporal UI');
  const third = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ name: 'third' }));
  expect(await s.expect(200, 'GET', `/ab-releases/${second.id}`)).toMatchObject({ state: 'running' });
  expect(await s.expect(200, 'POST', `/ab-releases/${third.id}/start`, s.admin, {})).toMatchObject({ state: 'running' });
  await s.expect(200, 'POST', `/ab-releases/${third.id}/rollback`, s.admin, { reason: 'cleanup' });
});

test('a failing analysis rolls back by itself; health shows the measurement, its thresholds and verdict, and judges it again with query thresholds', async () => {
  const st = await newStage();
  st.router.routeOf(st.env.id).canaryErrorRate = 0.2;
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 50 }, { analysis: { metric: 'error-rate', max: 0.05, window: '10s', interval: '1s' } }, { setWeight: 100 }] }));
  await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, {});
  const aborted = await reaches(r.id, (x) => expect(x).toMatchObject({ state: 'aborted', canaryWeight: 0 }));
  expect(aborted.abortReason).toMatch(/analysis of step 2 failed/);
  expect(st.router.routeOf(st.env.id).canaryWeight).toBe(0);
  const health = await s.expect(200, 'GET', `/ab-releases/${r.id}/health`);
  expect(health).toMatchObject({ state: 'aborted', lastVerdict: { verdict: 'fail', value: 0.2 } });
  expect(health.measurements[0]).toMatchObject({ judgement: { verdict: 'fail' }, thresholds: { max: 0.05 }, sample: { canary: { requests: 50, errors: 10 } }, rejudged: null });
  const lenient = await s.expect(200, 'GET', `/ab-releases/${r.id}/health?max=0.5`);
  expect(lenient.measurements[0].rejudged).toMatchObject({ verdict: 'pass' });
  await s.refuse(400, 'GET', `/ab-releases/${r.id}/health?max=lots`);
  // Retry runs it again from the first step once the canary is fixed.
  st.router.routeOf(st.env.id).canaryErrorRate = 0;
  expect(await s.expect(200, 'POST', `/ab-releases/${r.id}/retry`, s.admin, { reason: 'fixed' })).toMatchObject({ state: 'running', stepIndex: 0 });
  await s.expect(200, 'POST', `/ab-releases/${r.id}/rollback`, s.admin, { reason: 'enough' });
});

test('Temporal UI: searchable by kind, tenant, environment, release and state; summary = name and strategy; details show step, weights and last verdict', async () => {
  const st = await newStage();
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ name: 'ui canary', steps: [{ setWeight: 35 }, { pause: {} }] }));
  await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, {});
  await reaches(r.id, (x) => expect(x).toMatchObject({ state: 'paused', canaryWeight: 35 }));
  const workflowId = `${s.tenant}:rollout:${r.id}`;
  const query = `TollgateKind="rollout" AND TollgateTenant="${s.tenant}" AND TollgateEnvironment="${st.env.name}" AND TollgateRelease="${st.canary.name}" AND TollgateState="paused"`;
  const found = await eventually(async () => {
    const hits = [];
    for await (const w of app.client.workflow.list({ query })) hits.push(w);
    expect(hits.map((w) => w.workflowId)).toEqual([workflowId]);
    return hits[0];
  });
  expect((found.searchAttributes as Record<string, unknown[]>).TollgateTitle).toEqual([`Rollout ui canary: ${st.canary.name} in ${st.env.name}`]);
  const described = await app.client.workflow.getHandle(workflowId).describe();
  expect(await described.staticSummary()).toBe('ui canary (canary)');
  const metadata: { currentDetails: string } = await app.client.workflow.getHandle(workflowId).query('__temporal_workflow_metadata');
  const lines = metadata.currentDetails.split('\n\n');
  expect(lines.slice(0, 2)).toEqual(['**ui canary** (canary) · **paused**', 'Waiting for: step 2: pause until advance']);
  expect(lines).toEqual(expect.arrayContaining(['Step 2/2: pause until advance', expect.stringMatching(/^Weights: stable 65% · canary 35% \(router read back 35% at /)]));
  await s.expect(200, 'POST', `/ab-releases/${r.id}/rollback`, s.admin, { reason: 'ui checked' });
});

test('start meets the freeze as a deployment does: refused without deployment:override-freeze, or without a reason; with both it runs', async () => {
  const st = await newStage();
  const now = Date.now();
  await s.expect(201, 'POST', `/environments/${st.env.id}/freeze-windows`, s.admin, { name: 'Peak', reason: 'sale', start: new Date(now - 60_000).toISOString(), end: new Date(now + 3_600_000).toISOString() });
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 5 }, { pause: {} }] }));
  const sre = await s.token('sre2@example.com', { roles: ['sre'] });
  expect(await s.refuse(403, 'POST', `/ab-releases/${r.id}/start`, sre, { reason: 'now' })).toMatchObject({ code: 'FREEZE_ACTIVE', details: { freeze: expect.objectContaining({ name: 'Peak' }) } });
  expect(await s.refuse(422, 'POST', `/ab-releases/${r.id}/start`, s.admin, {})).toMatchObject({ code: 'FREEZE_OVERRIDE_NEEDS_REASON' });
  expect(await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, { reason: 'hotfix canary during the sale' })).toMatchObject({ state: 'running' });
  await s.expect(200, 'POST', `/ab-releases/${r.id}/rollback`, s.admin, { reason: 'done' });
});

test('traffic while the router’s agent is away: the last read-back, with a note saying so', async () => {
  const st = await newStage();
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 15 }, { pause: {} }] }));
  await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, {});
  await reaches(r.id, (x) => expect(x).toMatchObject({ state: 'paused', canaryWeight: 15 }));
  await st.close();
  const reading = await s.expect(200, 'GET', `/ab-releases/${r.id}/traffic`);
  expect(reading).toMatchObject({ live: false, traffic: { canaryWeight: 15 }, requested: { canaryWeight: 15 } });
  expect(reading.note).toMatch(new RegExp(`agent ${st.agentId} did not answer .*last read-back`));
});

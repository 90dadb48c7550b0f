import { randomUUID } from 'node:crypto';
import { workflowId } from '../../domain/workflow-ids';
import { startTestApp, type TestApp } from '../support/app';
import { scene, type Scene } from '../support/promotion-scene';
import { rolloutReaches, rolloutStages } from '../support/rollout-scene';
import { startPromQlServer, startTrafficReceiver, type PromQlServer, type TrafficReceiver } from '../support/traffic-receiver';

/**
 * Integrations as a rollout's traffic and metrics: a `traffic-webhook`
 * integration sets and reads the weights (PUT/GET to a receiver here, which
 * checks the bearer token) with no router agent in the environment, and a
 * `prometheus` integration answers the analysis (a server speaking the query
 * API, which checks its token too). The tokens stay in the integrations:
 * neither the API's answers nor the workflow's history (decoded) hold them.
 */
let app: TestApp;
let s: Scene;
let receiver: TrafficReceiver;
let prometheus: PromQlServer;
const stages = rolloutStages(() => s, () => app);
const TRAFFIC_TOKEN = `traffic-${randomUUID()}`;
const PROM_TOKEN = `prom-${randomUUID()}`;

beforeAll(async () => {
  app = await startTestApp();
  s = await scene(app);
  receiver = await startTrafficReceiver(TRAFFIC_TOKEN);
  prometheus = await startPromQlServer(PROM_TOKEN, '2.0.0');
});
afterAll(async () => {
  await stages.closeAll();
  await receiver?.close();
  await prometheus?.close();
  await app?.close();
});

const integration = (typeId: string, name: string, config: Record<string, unknown>) => s.expect(201, 'POST', '/integrations', s.admin, { typeId, name: `${name}-${randomUUID().slice(0, 6)}`, config });
const trafficIntegration = (url = receiver.url) => integration('traffic-webhook', 'router-hook', { url, bearerToken: TRAFFIC_TOKEN, timeoutMs: 1000 });
const prometheusIntegration = () => integration('prometheus', 'prom', { url: prometheus.url, bearerToken: PROM_TOKEN });

const reaches = rolloutReaches(() => s);

async function decodedHistory(rolloutId: string): Promise<string> {
  const history = await app.client.workflow.getHandle(workflowId(s.tenant, 'rollout', rolloutId)).fetchHistory();
  const payloads: any[] = [];
  const collect = (v: unknown): void => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return;
    if (Array.isArray(v)) return v.forEach(collect);
    const o = v as Record<string, unknown>;
    if ('metadata' in o && 'data' in o && o.data instanceof Uint8Array) payloads.push(o);
    else Object.values(o).forEach(collect);
  };
  collect(history);
  const decoded = await app.decode(payloads);
  return decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('\n');
}

test('bodies naming integrations that do not fit are refused: unknown 422, wrong type 422, router analysis without an agent 422, both address and integrationId 400', async () => {
  const st = await stages.add({ routerless: true });
  const hook = await trafficIntegration();
  const prom = await prometheusIntegration();
  const notifier = await integration('webhook', 'notifier', { url: 'http://127.0.0.1:47/hook' });
  const promAnalysis = (extra: Record<string, unknown>) => ({ analysis: { provider: 'prometheus', metric: 'error-rate', max: 0.05, window: '2s', ...extra } });

  const unknown = randomUUID();
  expect(await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ steps: [{ setWeight: 10 }, promAnalysis({ integrationId: unknown })] }))).toMatchObject({
    code: 'INTEGRATION_NOT_FOUND',
    details: { field: 'steps.1.analysis.integrationId', integrationId: unknown },
  });
  expect(await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ trafficIntegrationId: unknown, steps: [{ setWeight: 10 }] }))).toMatchObject({ code: 'INTEGRATION_NOT_FOUND', details: { field: 'trafficIntegrationId' } });
  const wrongAnalysis = await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ steps: [promAnalysis({ integrationId: notifier.id })] }));
  expect(wrongAnalysis).toMatchObject({ code: 'INTEGRATION_WRONG_TYPE', details: { field: 'steps.0.analysis.integrationId', typeId: 'webhook', expected: 'prometheus' } });
  expect(wrongAnalysis.message).toContain(notifier.name);
  expect(await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ trafficIntegrationId: prom.id, steps: [{ setWeight: 10 }] }))).toMatchObject({
    code: 'INTEGRATION_WRONG_TYPE',
    details: { field: 'trafficIntegrationId', typeId: 'prometheus', expected: 'traffic-webhook' },
  });
  // The default analysis reads the router agent's counters: a rollout whose traffic goes through a webhook has no agent to read.
  const needsAgent = await s.refuse(422, 'POST', '/ab-releases', s.admin, st.body({ trafficIntegrationId: hook.id }));
  expect(needsAgent).toMatchObject({ code: 'ANALYSIS_NEEDS_ROUTER_AGENT', details: { field: 'steps.3.analysis.provider', provider: 'router' } });
  expect(needsAgent.message).toMatch(/use provider prometheus/);

  const both = await s.call('POST', '/ab-releases', s.admin, st.body({ steps: [promAnalysis({ integrationId: prom.id, address: prometheus.url })] }));
  expect(both.status).toBe(400);
  expect(both.body.error.validationErrors).toEqual(expect.arrayContaining([expect.objectContaining({ field: expect.stringContaining('integrationId'), message: expect.stringContaining('exclude each other') })]));
  const onRouter = await s.call('POST', '/ab-releases', s.admin, st.body({ steps: [{ analysis: { metric: 'error-rate', max: 0.05, integrationId: prom.id } }] }));
  expect(onRouter.status).toBe(400);
  // Nothing was created by any of them.
  expect((await app.pool.query('SELECT count(*)::int AS n FROM rollouts WHERE tenant_id = $1 AND environment_id = $2', [s.tenant, st.env.id])).rows[0].n).toBe(0);

  // A traffic integration deleted between create and start: the start is refused, and nothing moves.
  const doomed = await trafficIntegration();
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ trafficIntegrationId: doomed.id, steps: [{ setWeight: 10 }] }));
  await s.expect(204, 'DELETE', `/integrations/${doomed.id}`, s.admin);
  const gone = await s.refuse(409, 'POST', `/ab-releases/${r.id}/start`, s.admin, {});
  expect(gone).toMatchObject({ code: 'TRAFFIC_INTEGRATION_GONE', details: { integrationId: doomed.id } });
  expect(await s.expect(200, 'GET', `/ab-releases/${r.id}`)).toMatchObject({ state: 'created', plan: null });
});

test('a rollout through a traffic-webhook integration with no router agent: weights PUT step by step with the bearer token, read back by GET, judged by a prometheus integration; no token in answers or history', async () => {
  const st = await stages.add({ routerless: true });
  const hook = await trafficIntegration();
  const prom = await prometheusIntegration();
  // The integration's test reads the weights the router has (and moves nothing).
  const tested = await s.expect(200, 'POST', `/integrations/${hook.id}/test`, s.admin);
  expect(tested).toMatchObject({ ok: true, details: { provider: 'webhook', stableWeight: 100, canaryWeight: 0 } });
  receiver.puts.length = 0;
  prometheus.queries.length = 0;
  prometheus.canaryValue = 0.01;
  const created = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({
    trafficIntegrationId: hook.id,
    steps: [{ setWeight: 10 }, { setWeight: 50 }, { pause: {} }, { analysis: { provider: 'prometheus', integrationId: prom.id, metric: 'error-rate', max: 0.05, window: '2s', interval: '1s' } }, { setWeight: 100 }],
  }));
  expect(created).toMatchObject({ trafficIntegrationId: hook.id });
  const started = await s.expect(200, 'POST', `/ab-releases/${created.id}/start`, s.admin, {});
  expect(started.plan).toMatchObject({ routerAgentId: null, routerProvider: 'traffic-webhook', trafficIntegration: { id: hook.id, name: hook.name } });
  await reaches(created.id, (r) => expect(r).toMatchObject({ state: 'paused', stepIndex: 2, canaryWeight: 50, traffic: { provider: 'webhook', canaryWeight: 50, stableWeight: 50 } }));
  expect(receiver.puts.map((p) => [p.authorized, p.body.stable.weight, p.body.canary.weight])).toEqual([[true, 90, 10], [true, 50, 50]]);
  expect(receiver.puts[0].body).toEqual({
    routeId: st.env.id,
    rolloutId: created.id,
    stable: { weight: 90, backends: [{ name: expect.stringMatching(/^stable-/), host: '127.0.0.1', port: 14001 }] },
    canary: { weight: 10, backends: [{ name: expect.stringMatching(/^canary-/), host: '127.0.0.1', port: 14002 }] },
    match: null,
  });
  const traffic = await s.expect(200, 'GET', `/ab-releases/${created.id}/traffic`);
  expect(traffic).toMatchObject({ live: true, note: null, traffic: { provider: 'webhook', canaryWeight: 50, routeId: st.env.id } });
  expect(receiver.gets.at(-1)).toEqual({ authorized: true, routeId: st.env.id });

  await s.expect(200, 'POST', `/ab-releases/${created.id}/advance`, s.admin, { reason: 'judge it' });
  const done = await reaches(created.id, (r) => expect(r.state).toBe('completed'));
  expect(done).toMatchObject({ canaryWeight: 100, traffic: { canaryWeight: 100 } });
  expect(receiver.puts.map((p) => p.body.canary.weight)).toEqual([10, 50, 100, 100]);
  expect(receiver.puts.every((p) => p.authorized)).toBe(true);

  const health = await s.expect(200, 'GET', `/ab-releases/${created.id}/health`);
  const measured = health.measurements.filter((m: any) => m.stepIndex === 3);
  expect(measured.length).toBeGreaterThan(0);
  for (const m of measured) expect(m).toMatchObject({ provider: 'prometheus', integration: { id: prom.id, name: prom.name }, judgement: { verdict: 'pass', value: 0.01 } });
  expect(prometheus.queries.length).toBeGreaterThan(0);
  expect(prometheus.queries.every((q) => q.authorized)).toBe(true);

  const answers = JSON.stringify([done, health, traffic, started, await s.expect(200, 'GET', `/integrations/${hook.id}`)]);
  expect(answers).not.toContain(TRAFFIC_TOKEN);
  expect(answers).not.toContain(PROM_TOKEN);
  const history = await decodedHistory(created.id);
  expect(history).toContain(hook.id);
  expect(history).toContain(prom.id);
  expect(history).not.toContain(TRAFFIC_TOKEN);
  expect(history).not.toContain(PROM_TOKEN);
});

test('a failing prometheus analysis rolls back through the webhook: the last PUT is stable 100', async () => {
  const st = await stages.add({ routerless: true });
  const hook = await trafficIntegration();
  const prom = await prometheusIntegration();
  prometheus.canaryValue = 0.5;
  const created = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({
    trafficIntegrationId: hook.id,
    steps: [{ setWeight: 30 }, { analysis: { provider: 'prometheus', integrationId: prom.id, metric: 'error-rate', max: 0.05, window: '3s', interval: '1s' } }, { setWeight: 100 }],
  }));
  receiver.puts.length = 0;
  await s.expect(200, 'POST', `/ab-releases/${created.id}/start`, s.admin, {});
  const aborted = await reaches(created.id, (r) => expect(r).toMatchObject({ state: 'aborted', canaryWeight: 0 }));
  expect(aborted.abortReason).toMatch(/analysis of step 2 failed 1 time\(s\): canary error-rate 0.5 is above the maximum 0.05/);
  expect(aborted.lastVerdict).toMatchObject({ verdict: 'fail', provider: 'prometheus', integration: { id: prom.id, name: prom.name } });
  expect(receiver.puts.map((p) => [p.body.stable.weight, p.body.canary.weight])).toEqual([[70, 30], [100, 0]]);
  expect(receiver.weights).toEqual({ stable: 100, canary: 0 });
  prometheus.canaryValue = 0;
});

test('a receiver busy for two calls is retried and the weight is set; a receiver down fails the rollout after its retries, naming the integration and the reason', async () => {
  const st = await stages.add({ routerless: true });
  const hook = await trafficIntegration();
  receiver.puts.length = 0;
  receiver.failNext = 2;
  const busy = await s.expect(201, 'POST', '/ab-releases', s.admin, st.body({ trafficIntegrationId: hook.id, steps: [{ setWeight: 20 }, { pause: {} }] }));
  await s.expect(200, 'POST', `/ab-releases/${busy.id}/start`, s.admin, {});
  await reaches(busy.id, (r) => expect(r).toMatchObject({ state: 'paused', canaryWeight: 20 }));
  expect(receiver.puts.map((p) => p.body.canary.weight)).toEqual([20, 20, 20]);
  await s.expect(200, 'POST', `/ab-releases/${busy.id}/rollback`, s.admin, { reason: 'done' });
  expect(receiver.weights).toEqual({ stable: 100, canary: 0 });

  // Nothing listens on the integration's port now.
  const gone = await startTrafficReceiver(TRAFFIC_TOKEN);
  await gone.close();
  const down = await trafficIntegration(gone.url);
  const st2 = await stages.add({ routerless: true });
  const r = await s.expect(201, 'POST', '/ab-releases', s.admin, st2.body({ trafficIntegrationId: down.id, steps: [{ setWeight: 10 }, { setWeight: 100 }] }));
  await s.expect(200, 'POST', `/ab-releases/${r.id}/start`, s.admin, {});
  const failed = await reaches(r.id, (x) => expect(x.state).toBe('failed'), 45_000);
  expect(failed.abortReason).toMatch(new RegExp(`set weight 10% failed through traffic integration ${down.name}: traffic integration ${down.name}: .*ECONNREFUSED`));
  expect(failed.canaryWeight).toBe(0);
  const history = await app.client.workflow.getHandle(workflowId(s.tenant, 'rollout', r.id)).fetchHistory();
  // The first traffic call failed on its third attempt (later ones are the rollout putting traffic back on stable meanwhile).
  const firstFailure = history.events!.findIndex((e) => e.activityTaskFailedEventAttributes);
  expect(firstFailure).toBeGreaterThan(0);
  expect(history.events!.slice(0, firstFailure).filter((e) => e.activityTaskStartedEventAttributes).at(-1)!.activityTaskStartedEventAttributes!.attempt).toBe(3);
  const traffic = await s.expect(200, 'GET', `/ab-releases/${r.id}/traffic`);
  expect(traffic).toMatchObject({ live: false, note: expect.stringContaining(`Traffic integration ${down.name} did not answer`) });
}, 90_000);

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { reaches, request, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * Plugins as promotion gates: an approval policy's http gate names an
 * instance of a plugin implementing http-gate (pluginInstanceId) and the
 * plugin's `check` is called where the gate inputs are gathered, through the
 * host's bounded call. The repo's example gate plugin asks a local node:http
 * server the test turns OK and not OK; fixtures hang and throw; a disabled
 * plugin fails its gate; a policy is saved only with gates naming one usable
 * target; an instance a policy names cannot be deleted.
 */
let app: TestApp;
let server: Server;
let base: string;
const TOKEN = `plugin-gate-token-${Math.random().toString(36).slice(2)}`;
const answers = new Map<string, number>();
const seen: Array<{ path: string; query: URLSearchParams; auth: string | undefined }> = [];

const fixture = (name: string) => path.resolve('test/fixtures/plugins', name);

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: url.pathname, query: url.searchParams, auth: req.headers.authorization });
    const status = answers.get(url.pathname) ?? 404;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'freeze in force');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const plugins = [path.resolve('plugins/example-gate'), path.resolve('plugins/example-notifier'), fixture('hanging'), fixture('throwing')];
  app = await startTestApp({ env: { TOLLGATE_PLUGINS: plugins.join(','), PLUGIN_CALL_TIMEOUT: '1s' } });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => server?.close(resolve));
});

const httpGates = (gates: any[]) => gates.filter((g) => g.gateName === 'http-gate');
let paths = 0;

async function instance(s: Scene, pluginId: string, config: Record<string, unknown> = {}) {
  return s.expect(201, 'POST', '/plugin-instances', s.admin, { pluginId, name: `${pluginId}-${++paths}`, config });
}

async function exampleGate(s: Scene, status: number) {
  const at = `/freeze-${++paths}`;
  answers.set(at, status);
  return { instance: await instance(s, 'example-gate', { url: `${base}${at}`, token: TOKEN }), path: at, answer: (n: number) => answers.set(at, n) };
}

const preview = (s: Scene, st: { release: { id: string }; env: { id: string } }) =>
  s.expect(200, 'POST', '/promotions/preview-gates', s.admin, { releaseId: st.release.id, targetEnvironmentId: st.env.id });

it('a plugin gate fails while its service is not OK and lets the promotion through once it is, told only the release and environment', async () => {
  const s = await scene(app);
  const gate = await exampleGate(s, 503);
  const st = await stage(s, { policy: { requiredApprovals: 0, httpGates: [{ name: 'change-freeze', pluginInstanceId: gate.instance.id, message: 'wait for the freeze to end' }] } });
  expect(st.policy.httpGates).toEqual([{ name: 'change-freeze', pluginInstanceId: gate.instance.id, message: 'wait for the freeze to end', blocking: true }]);

  const failing = httpGates((await preview(s, st)).gates);
  expect(failing).toEqual([
    {
      gateName: 'http-gate',
      passed: false,
      blocking: true,
      message: expect.stringMatching(/^change-freeze: wait for the freeze to end \(.*answered 503: freeze in force\)$/),
      details: expect.objectContaining({ name: 'change-freeze', pluginInstanceId: gate.instance.id, pluginId: 'example-gate', integrationName: gate.instance.name, status: 503 }),
    },
  ]);
  const dev = await s.token('dev@example.com', { roles: ['developer'] });
  const refused = await s.refuse(422, 'POST', '/promotions', dev, { releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship' });
  expect(refused.code).toBe('PROMOTION_BLOCKED');

  gate.answer(200);
  const p = await request(s, dev, st);
  const deployed = await reaches(s, p.id, 'deployed');
  expect(httpGates(deployed.gates)).toEqual([expect.objectContaining({ passed: true, message: `change-freeze: plugin example-gate (${gate.instance.name}) answered 200` })]);
  expect(deployed.gateInputs.httpGateChecks).toEqual([
    { name: 'change-freeze', pluginInstanceId: gate.instance.id, pluginId: 'example-gate', integrationName: gate.instance.name, passed: true, status: 200, reason: null, details: { status: 200 }, checkedAt: expect.any(String) },
  ]);
  // The plugin got the promotion's names and its instance's token; no answer carries the token.
  const asked = seen.filter((r) => r.path === gate.path);
  expect(asked.map((r) => [r.query.get('release'), r.query.get('environment'), r.auth])).toContainEqual([st.release.name, st.env.name, `Bearer ${TOKEN}`]);
  expect(JSON.stringify(deployed)).not.toContain(TOKEN);
  expect((await s.expect(200, 'GET', '/plugins/example-gate')).lastCall).toMatchObject({ ok: true, operation: 'check' });
});

it('a hanging plugin gate times out with the reason, a throwing one fails with its error, a disabled plugin’s gate fails', async () => {
  const s = await scene(app);
  const hanging = await instance(s, 'hanging');
  const throwing = await instance(s, 'throwing');
  const gate = await exampleGate(s, 200);
  const st = await stage(s, {
    policy: {
      requiredApprovals: 1,
      httpGates: [
        { name: 'slow', pluginInstanceId: hanging.id },
        { name: 'boom', pluginInstanceId: throwing.id, blocking: false },
        { name: 'freeze', pluginInstanceId: gate.instance.id },
      ],
    },
  });
  const started = Date.now();
  const [slow, boom, freeze] = httpGates((await preview(s, st)).gates);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(slow).toMatchObject({ passed: false, blocking: true, details: { pluginId: 'hanging', status: null, reason: 'check did not answer within 1000 ms' } });
  expect(boom).toMatchObject({ passed: false, blocking: false, details: { pluginId: 'throwing', reason: 'check threw: the freeze service exploded' } });
  expect(freeze).toMatchObject({ passed: true });

  await s.expect(200, 'POST', '/plugins/example-gate/disable');
  const [, , off] = httpGates((await preview(s, st)).gates);
  expect(off).toMatchObject({ passed: false, blocking: true, message: expect.stringContaining('(plugin example-gate is disabled)'), details: { reason: 'plugin example-gate is disabled' } });
  await s.expect(200, 'POST', '/plugins/example-gate/enable');
  expect(httpGates((await preview(s, st)).gates)[2]).toMatchObject({ passed: true });
});

it('a policy is saved only with gates naming exactly one http-gate integration or instance of a loaded http-gate plugin', async () => {
  const s = await scene(app);
  const gate = await exampleGate(s, 200);
  const notifier = await instance(s, 'example-notifier', { url: `${base}/lines` });
  const integration = await s.expect(201, 'POST', '/integrations', s.admin, { typeId: 'http-gate', name: 'freeze-service', config: { url: `${base}/x` } });
  const foreign = (await exampleGate(await scene(app), 200)).instance;
  const unloaded = randomUUID();
  await app.pool.query(
    `INSERT INTO plugin_instances (tenant_id, id, plugin_id, name, config, version, created_by, created_at, updated_at) VALUES ($1, $2, 'uninstalled', 'left-behind', '{}', 1, 'x', now(), now())`,
    [s.tenant, unloaded],
  );
  const st = await stage(s, {});
  const body = (httpGates: unknown) => ({ name: 'prod', environmentId: st.env.id, requiredApprovals: 1, httpGates });

  const shape = await s.call('POST', '/approval-policies', s.admin, body([{ name: 'x', pluginInstanceId: 'nope' }]));
  expect([shape.status, shape.body.error.validationErrors.map((e: { field: string }) => e.field)]).toEqual([400, ['httpGates.0.pluginInstanceId']]);

  const missing = '00000000-0000-4000-8000-00000000abcd';
  const refused = await s.refuse(422, 'POST', '/approval-policies', s.admin, body([
    { name: 'ok', pluginInstanceId: gate.instance.id },
    { name: 'both', pluginInstanceId: gate.instance.id, integrationId: integration.id },
    { name: 'neither' },
    { name: 'gone', pluginInstanceId: missing },
    { name: 'chat', pluginInstanceId: notifier.id },
    { name: 'theirs', pluginInstanceId: foreign.id },
    { name: 'unloaded', pluginInstanceId: unloaded },
  ]));
  expect(refused.code).toBe('HTTP_GATE_INTEGRATION_INVALID');
  expect(refused.details.fields).toEqual([
    { field: 'httpGates.1', code: 'ONE_TARGET_REQUIRED', message: expect.stringContaining('exactly one of integrationId') },
    { field: 'httpGates.2', code: 'ONE_TARGET_REQUIRED', message: expect.stringContaining('exactly one of integrationId') },
    { field: 'httpGates.3.pluginInstanceId', code: 'PLUGIN_INSTANCE_NOT_FOUND', message: `no plugin instance ${missing} in this tenant` },
    { field: 'httpGates.4.pluginInstanceId', code: 'NOT_AN_HTTP_GATE', message: `plugin example-notifier of instance ${notifier.name} implements notifier, not http-gate` },
    { field: 'httpGates.5.pluginInstanceId', code: 'PLUGIN_INSTANCE_NOT_FOUND', message: `no plugin instance ${foreign.id} in this tenant` },
    { field: 'httpGates.6.pluginInstanceId', code: 'PLUGIN_NOT_LOADED', message: expect.stringContaining('plugin uninstalled of instance left-behind is not loaded') },
  ]);
  expect((await s.expect(200, 'GET', `/approval-policies?environmentId=${st.env.id}`)).length).toBe(0);

  // Integration and plugin gates side by side; an edit is judged the same way and leaves the policy as it was.
  const saved = await s.expect(201, 'POST', '/approval-policies', s.admin, body([{ name: 'plugin', pluginInstanceId: gate.instance.id }, { name: 'service', integrationId: integration.id }]));
  expect(saved.httpGates).toEqual([
    { name: 'plugin', pluginInstanceId: gate.instance.id, message: null, blocking: true },
    { name: 'service', integrationId: integration.id, message: null, blocking: true },
  ]);
  const edit = await s.refuse(422, 'PUT', `/approval-policies/${saved.id}`, s.admin, body([{ name: 'chat', pluginInstanceId: notifier.id }]));
  expect(edit.details.fields).toEqual([expect.objectContaining({ field: 'httpGates.0.pluginInstanceId', code: 'NOT_AN_HTTP_GATE' })]);
  expect((await s.expect(200, 'GET', `/approval-policies/${saved.id}`)).version).toBe(1);
});

it('a plugin instance a policy names cannot be deleted; one that went missing fails its gate with the reason', async () => {
  const s = await scene(app);
  const gate = await exampleGate(s, 200);
  const st = await stage(s, { policy: { requiredApprovals: 1, httpGates: [{ name: 'freeze', pluginInstanceId: gate.instance.id }] } });

  const inUse = await s.refuse(409, 'DELETE', `/plugin-instances/${gate.instance.id}`);
  expect(inUse).toMatchObject({ code: 'PLUGIN_INSTANCE_IN_USE', details: { policies: [{ id: st.policy.id, name: st.policy.name }] } });
  expect(inUse.message).toContain(st.policy.name);
  await s.expect(200, 'GET', `/plugin-instances?pluginId=example-gate`);

  await app.pool.query('DELETE FROM plugin_instances WHERE tenant_id = $1 AND id = $2', [s.tenant, gate.instance.id]);
  expect(httpGates((await preview(s, st)).gates)).toEqual([
    expect.objectContaining({ passed: false, details: expect.objectContaining({ pluginId: null, reason: expect.stringContaining(`plugin instance ${gate.instance.id} no longer exists`) }) }),
  ]);

  const second = await exampleGate(s, 200);
  await s.expect(200, 'PUT', `/approval-policies/${st.policy.id}`, s.admin, { name: st.policy.name, environmentId: st.env.id, requiredApprovals: 1, httpGates: [{ name: 'freeze', pluginInstanceId: second.instance.id }] });
  expect((await s.call('DELETE', `/plugin-instances/${second.instance.id}`, s.admin)).status).toBe(409);
  await s.expect(200, 'PUT', `/approval-policies/${st.policy.id}`, s.admin, { name: st.policy.name, environmentId: st.env.id, requiredApprovals: 1 });
  expect((await s.call('DELETE', `/plugin-instances/${second.instance.id}`, s.admin)).status).toBe(204);
});

import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { startLineReceiver, type LineReceiver } from '../support/line-receiver';

/**
 * Plugins over HTTP: the example plugin in plugins/ and three fixtures (one
 * that hangs, one that throws, one that cannot load) named in TOLLGATE_PLUGINS
 * and loaded by the API and the worker at start; enable/disable; instances
 * with configs judged by the plugin's schema; health that times out a hanging
 * plugin while the worker goes on serving.
 */
let app: TestApp;
let admin: string;
let viewer: string;
let receiver: LineReceiver;
let receiverUrl: string;

const EXAMPLE = path.resolve('plugins/example-notifier');
const fixture = (name: string) => path.resolve('test/fixtures/plugins', name);

beforeAll(async () => {
  receiver = await startLineReceiver();
  receiverUrl = receiver.url;
  app = await startTestApp({
    env: {
      TOLLGATE_PLUGINS: [EXAMPLE, fixture('hanging'), fixture('throwing'), fixture('broken'), fixture('metrics-only'), fixture('gate-without-check')].join(','),
      PLUGIN_CALL_TIMEOUT: '1s',
    },
  });
  admin = await app.token('rita@example.com', { roles: ['release-manager'] });
  viewer = await app.token('vic@example.com', { roles: ['viewer'] });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

test('GET /plugins lists every configured plugin: what it implements, its config schema, and a load error for one that threw', async () => {
  const res = await app.http('GET', '/api/v1/plugins', { token: viewer });
  expect(res.status).toBe(200);
  const byId = Object.fromEntries(res.body.data.map((p: { id: string }) => [p.id, p]));
  expect(byId['example-notifier']).toMatchObject({ loaded: true, enabled: true, implements: ['notifier'], secretFields: ['token'], version: '1.0.0', loadError: null });
  expect(byId['example-notifier'].configSchema).toMatchObject({ type: 'object', required: ['url'], additionalProperties: false });
  expect(byId.hanging).toMatchObject({ loaded: true, implements: ['http-gate'] });
  expect(byId.broken).toMatchObject({ source: fixture('broken'), loaded: false, loadError: expect.stringContaining('broken on purpose'), implements: [] });
  // An extension point the host never calls plugins for, or one without its function: listed with why, not loaded.
  expect(byId['metrics-only']).toMatchObject({
    loaded: false,
    implements: [],
    loadError: 'not a Tollgate plugin: implements.0 "metric-provider" is not an extension point plugins can implement today; they can implement notifier (exports notify), http-gate (exports check)',
  });
  expect(byId['gate-without-check']).toMatchObject({ loaded: false, loadError: 'not a Tollgate plugin: implements.0 "http-gate" needs the function check, which the plugin does not export' });
  expect((await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'metrics-only', name: 'm', config: {} } })).body.error.code).toBe('PLUGIN_NOT_LOADED');
  expect((await app.http('GET', '/api/v1/plugins/example-notifier', { token: viewer })).body.data.id).toBe('example-notifier');
  expect((await app.http('GET', '/api/v1/plugins/nope', { token: viewer })).status).toBe(404);
});

test('a hanging plugin’s health times out, is recorded, and the worker keeps serving other plugins', async () => {
  const started = Date.now();
  const hung = await app.http('GET', '/api/v1/plugins/hanging/health', { token: viewer });
  expect(hung.status).toBe(200);
  expect(hung.body.data).toMatchObject({ pluginId: 'hanging', status: 'unhealthy', reason: 'health did not answer within 1000 ms' });
  expect(Date.now() - started).toBeLessThan(10_000);
  const listed = await app.http('GET', '/api/v1/plugins/hanging', { token: viewer });
  expect(listed.body.data.lastCall).toMatchObject({ ok: false, reason: 'health did not answer within 1000 ms', operation: 'health' });

  const threw = await app.http('GET', '/api/v1/plugins/throwing/health', { token: viewer });
  expect(threw.body.data).toMatchObject({ status: 'unhealthy', reason: 'health threw: the chat backend exploded' });
  // Same worker, right after: still answering.
  const fine = await app.http('GET', '/api/v1/plugins/example-notifier/health', { token: viewer });
  expect(fine.body.data).toMatchObject({ status: 'healthy', reason: null });
  const notLoaded = await app.http('GET', '/api/v1/plugins/broken/health', { token: viewer });
  expect(notLoaded.body.data).toMatchObject({ status: 'not-loaded', reason: expect.stringContaining('broken on purpose') });
});

test('plugin instances: config judged by the plugin’s schema, secrets write-only, enable/disable gates them', async () => {
  const bad = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'example-notifier', name: 'bad', config: { url: 'not a url', extra: 1 } } });
  expect(bad.status).toBe(422);
  expect(bad.body.error.code).toBe('INVALID_CONFIG');
  expect(bad.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['config.extra', 'config.url']);
  const unknown = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'nope', name: 'x', config: {} } });
  expect(unknown.status).toBe(422);
  expect(unknown.body.error.code).toBe('UNKNOWN_PLUGIN');

  const created = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'example-notifier', name: 'chat-bridge', config: { url: receiverUrl, token: 's3cret-token' } } });
  expect(created.status).toBe(201);
  expect(created.body.data).toMatchObject({ pluginId: 'example-notifier', config: { url: receiverUrl, prefix: '[tollgate]' }, secrets: { token: { secretSet: true } } });
  expect(created.text).not.toContain('s3cret-token');
  const row = (await app.pool.query('SELECT config, secrets FROM plugin_instances WHERE id = $1', [created.body.data.id])).rows[0];
  expect(JSON.stringify(row)).not.toContain('s3cret-token');

  const put = await app.http('PUT', `/api/v1/plugin-instances/${created.body.data.id}`, { token: admin, body: { name: 'chat-bridge', config: { url: receiverUrl, prefix: '[tg]' } } });
  expect(put.status).toBe(200);
  expect(put.body.data).toMatchObject({ version: 2, config: { prefix: '[tg]' }, secrets: { token: { secretSet: true } } });
  const listed = await app.http('GET', '/api/v1/plugin-instances?pluginId=example-notifier', { token: viewer });
  expect(listed.body.data.map((i: { id: string }) => i.id)).toContain(created.body.data.id);

  expect((await app.http('POST', '/api/v1/plugins/example-notifier/disable', { token: viewer })).status).toBe(403);
  const disabled = await app.http('POST', '/api/v1/plugins/example-notifier/disable', { token: admin });
  expect(disabled.body.data).toMatchObject({ id: 'example-notifier', enabled: false });
  expect((await app.http('GET', '/api/v1/plugins/example-notifier/health', { token: viewer })).body.data.status).toBe('disabled');
  const refused = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'example-notifier', name: 'while-off', config: { url: receiverUrl } } });
  expect(refused.status).toBe(422);
  expect(refused.body.error.code).toBe('PLUGIN_DISABLED');
  const enabled = await app.http('POST', '/api/v1/plugins/example-notifier/enable', { token: admin });
  expect(enabled.body.data.enabled).toBe(true);
  const broken = await app.http('POST', '/api/v1/plugins/broken/enable', { token: admin });
  expect(broken.status).toBe(422);
  expect(broken.body.error.code).toBe('PLUGIN_NOT_LOADED');

  expect((await app.http('DELETE', `/api/v1/plugin-instances/${created.body.data.id}`, { token: admin })).status).toBe(204);
  expect((await app.http('DELETE', `/api/v1/plugin-instances/${created.body.data.id}`, { token: admin })).status).toBe(404);
});

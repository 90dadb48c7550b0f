import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { startLineReceiver, type LineReceiver } from '../support/line-receiver';
import { until } from '../support/eventually';

/**
 * A template's notify step through a plugin instance (pluginInstanceId): the
 * repo's example notifier, loaded from TOLLGATE_PLUGINS, posting its line to a
 * local receiver; and every way the plugin cannot deliver failing the step
 * with its code while the worker goes on (a missing instance, a disabled
 * plugin, one that is no notifier, one that hangs past PLUGIN_CALL_TIMEOUT).
 */
let app: TestApp;
let admin: string;
let receiver: LineReceiver;
let receiverUrl: string;

const fixture = (name: string) => path.resolve('test/fixtures/plugins', name);

beforeAll(async () => {
  receiver = await startLineReceiver();
  receiverUrl = receiver.url;
  app = await startTestApp({
    env: { TOLLGATE_PLUGINS: [path.resolve('plugins/example-notifier'), fixture('hanging'), fixture('hanging-notifier')].join(','), PLUGIN_CALL_TIMEOUT: '1s' },
  });
  admin = await app.token('rita@example.com', { roles: ['release-manager'] });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

async function instance(pluginId: string, name: string, config: Record<string, unknown>): Promise<string> {
  const res = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId, name, config } });
  expect(res.status).toBe(201);
  return res.body.data.id;
}

async function runNotify(name: string, inputs: Record<string, unknown>) {
  const template = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name, nodes: [{ id: 'tell', type: 'notify', inputs }] } });
  expect(template.status).toBe(201);
  const run = (await app.http('POST', '/api/v1/workflow-runs', { token: admin, body: { templateId: template.body.data.id, parameters: {} } })).body.data;
  return until(`run ${name} to end`, async () => {
    const res = await app.http('GET', `/api/v1/workflow-runs/${run.id}`, { token: admin });
    return ['succeeded', 'failed'].includes(res.body.data.status) ? res.body.data : undefined;
  }, 60_000);
}

test('the example plugin delivers a notify step: its line reaches the receiver with the instance’s secret token, none in the run', async () => {
  const id = await instance('example-notifier', 'release-chat', { url: receiverUrl, prefix: '[rel]', token: 'bridge-token' });
  const done = await runNotify('notify-through-plugin', { pluginInstanceId: id, title: 'Release 3.1', text: 'production is green' });
  expect(done).toMatchObject({ status: 'succeeded', nodes: [{ nodeId: 'tell', status: 'succeeded', outputs: { pluginId: 'example-notifier', status: 200 } }] });
  expect(receiver.lines).toContainEqual({ line: '[rel] Release 3.1: production is green', auth: 'Bearer bridge-token' });
  expect(JSON.stringify(done)).not.toContain('bridge-token');
  const plugin = await app.http('GET', '/api/v1/plugins/example-notifier', { token: admin });
  expect(plugin.body.data.lastCall).toMatchObject({ ok: true, operation: 'notify' });
});

test('two or none of url, integrationId and pluginInstanceId: refused when the template is validated', async () => {
  const id = await instance('example-notifier', 'twice', { url: receiverUrl });
  for (const inputs of [{ url: receiverUrl, pluginInstanceId: id, text: 'x' }, { text: 'x' }]) {
    const res = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name: `bad-${Object.keys(inputs).length}`, nodes: [{ id: 'tell', type: 'notify', inputs }] } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.problems).toEqual([expect.objectContaining({ nodeId: 'tell', message: expect.stringContaining('exactly one of url, integrationId or pluginInstanceId') })]);
  }
});

test('a missing instance, a plugin that is no notifier, a disabled plugin and a hanging one fail the step with their codes; the worker goes on', async () => {
  const missing = await runNotify('notify-missing-instance', { pluginInstanceId: '00000000-0000-4000-8000-000000000000', text: 'x' });
  expect(missing.nodes[0]).toMatchObject({ status: 'failed', error: { code: 'PLUGIN_INSTANCE_NOT_FOUND' } });

  const gate = await instance('hanging', 'a-gate', {});
  const notNotifier = await runNotify('notify-not-a-notifier', { pluginInstanceId: gate, text: 'x' });
  expect(notNotifier.nodes[0]).toMatchObject({ status: 'failed', error: { code: 'NOT_A_NOTIFIER', message: expect.stringContaining('http-gate') } });

  const hung = await instance('hanging-notifier', 'never', {});
  const started = Date.now();
  const timedOut = await runNotify('notify-hanging', { pluginInstanceId: hung, text: 'x' });
  expect(timedOut.nodes[0]).toMatchObject({ status: 'failed', error: { code: 'PLUGIN_TIMEOUT', message: expect.stringContaining('notify did not answer within 1000 ms') } });
  expect(Date.now() - started).toBeLessThan(30_000);
  const health = await app.http('GET', '/api/v1/plugins/hanging-notifier', { token: admin });
  expect(health.body.data.lastCall).toMatchObject({ ok: false, operation: 'notify', reason: expect.stringContaining('did not answer') });

  const chat = await instance('example-notifier', 'while-disabled', { url: receiverUrl });
  expect((await app.http('POST', '/api/v1/plugins/example-notifier/disable', { token: admin })).status).toBe(200);
  try {
    const disabled = await runNotify('notify-disabled', { pluginInstanceId: chat, text: 'not sent' });
    expect(disabled.nodes[0]).toMatchObject({ status: 'failed', error: { code: 'PLUGIN_DISABLED' } });
    expect(receiver.lines.map((l) => l.line)).not.toContainEqual(expect.stringContaining('not sent'));
  } finally {
    await app.http('POST', '/api/v1/plugins/example-notifier/enable', { token: admin });
  }
  // The same worker still delivers.
  const after = await runNotify('notify-after', { pluginInstanceId: chat, title: 'Still', text: 'here' });
  expect(after.status).toBe('succeeded');
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { createIncident } from '../support/incidents';
import { startLineReceiver, type LineReceiver } from '../support/line-receiver';

/**
 * Incident notifications through instances of notifier plugins: an instance
 * takes `events` as a notifier integration does (judged the same way), a
 * notification reaches the repo's example notifier's subscribed instance and
 * not an unsubscribed one, and a retry (another receiver was down) does not
 * deliver to the instance again.
 */
let app: TestApp;
let admin: string;
let sre: string;
let lines: LineReceiver;
let flaky: Server;
let flakyUrl: string;
/** Answers 503 to this many deliveries before taking them. */
let flakyDown = 0;

beforeAll(async () => {
  lines = await startLineReceiver();
  flaky = createServer((req, res) => {
    req.resume();
    if (req.method === 'POST' && flakyDown > 0) {
      flakyDown--;
      return void res.writeHead(503).end('down');
    }
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
  flakyUrl = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/flaky`;
  const plugins = [path.resolve('plugins/example-notifier'), path.resolve('plugins/example-gate')];
  app = await startTestApp({ env: { TOLLGATE_PLUGINS: plugins.join(','), PLUGIN_CALL_TIMEOUT: '2s' } });
  admin = await app.token('rita@example.com', { roles: ['release-manager'] });
  sre = await app.token('nina@example.com', { roles: ['sre'] });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await lines?.close();
  await new Promise<void>((resolve) => flaky.close(() => resolve()));
});

async function instance(name: string, prefix: string, events?: string[]) {
  const res = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'example-notifier', name, config: { url: lines.url, prefix }, ...(events ? { events } : {}) } });
  expect(res.status).toBe(201);
  return res.body.data;
}

const notification = (id: string, reason: string) => app.client.workflow.getHandle(`${app.tenant}:incident-notify:${id}:v1:${reason}`).result();
const linesWith = (prefix: string, text: string) => lines.lines.filter((l) => l.line.startsWith(prefix) && l.line.includes(text));

test('events on a plugin instance: none by default, shown, replaced by a PUT; unknown events or events on a non-notifier plugin answer 422', async () => {
  const plain = await instance('plain-lines', '[plain]');
  expect(plain.events).toEqual([]);
  const bad = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'example-notifier', name: 'bad', config: { url: lines.url }, events: ['incident.created', 'incident.exploded'] } });
  expect([bad.status, bad.body.error.code, bad.body.error.validationErrors.map((e: { field: string }) => e.field)]).toEqual([422, 'INVALID_EVENTS', ['events.1']]);
  const gate = await app.http('POST', '/api/v1/plugin-instances', { token: admin, body: { pluginId: 'example-gate', name: 'gate', config: { url: lines.url }, events: ['incident.*'] } });
  expect([gate.status, gate.body.error?.code, gate.body.error?.validationErrors?.[0]?.field]).toEqual([422, 'INVALID_EVENTS', 'events']);
  const put = await app.http('PUT', `/api/v1/plugin-instances/${plain.id}`, { token: admin, body: { name: 'plain-lines', config: { url: lines.url, prefix: '[plain]' }, events: ['incident.response_breach', 'incident.response_breach'] } });
  expect([put.status, put.body.data.events]).toEqual([200, ['incident.response_breach']]);
  expect((await app.http('GET', '/api/v1/plugin-instances?pluginId=example-notifier', { token: admin })).body.data.find((i: { id: string }) => i.id === plain.id).events).toEqual(['incident.response_breach']);
});

test('a notification reaches the subscribed plugin instance and not the unsubscribed one; a retry does not deliver to it again', async () => {
  const subscribed = await instance('incident-lines', '[inc]', ['incident.created']);
  await instance('quiet-lines', '[quiet]', []);
  const first = await createIncident(app, sre, { short_description: 'Checkout 500s', priority: 'P2', notify_stakeholders: true });
  expect(await notification(first.id, 'created')).toEqual({
    delivered: 'integrations',
    notificationId: `incident:${first.id}:v1:created`,
    integrations: [],
    pluginInstances: [{ pluginInstanceId: subscribed.id, pluginId: 'example-notifier', name: 'incident-lines', outcome: 'delivered', reason: null, earlier: false }],
  });
  expect(linesWith('[inc]', 'Checkout 500s')).toHaveLength(1);
  expect(linesWith('[quiet]', 'Checkout 500s')).toEqual([]);

  // A subscribed webhook down twice: the activity is retried, and the plugin instance that took it is skipped.
  const hook = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'webhook', name: 'flaky-hook', config: { url: flakyUrl, maxAttempts: 1 }, events: ['incident.created'] } });
  expect(hook.status).toBe(201);
  flakyDown = 2;
  const second = await createIncident(app, sre, { short_description: 'Search index stale', priority: 'P3', notify_stakeholders: true });
  const result = (await notification(second.id, 'created')) as any;
  expect(result.integrations).toEqual([expect.objectContaining({ name: 'flaky-hook', outcome: 'delivered', earlier: false })]);
  expect(result.pluginInstances).toEqual([expect.objectContaining({ pluginInstanceId: subscribed.id, outcome: 'delivered', earlier: true })]);
  await eventually(() => expect(linesWith('[inc]', 'Search index stale')).toHaveLength(1));
  const { rows } = await app.pool.query(
    'SELECT receiver_kind, integration_id, outcome FROM incident_notification_deliveries WHERE tenant_id = $1 AND notification_id = $2 ORDER BY receiver_kind',
    [app.tenant, `incident:${second.id}:v1:created`],
  );
  expect(rows).toEqual([
    { receiver_kind: 'integration', integration_id: hook.body.data.id, outcome: 'delivered' },
    { receiver_kind: 'plugin_instance', integration_id: subscribed.id, outcome: 'delivered' },
  ]);
});

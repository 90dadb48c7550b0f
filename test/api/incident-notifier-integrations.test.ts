import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { createIncident, patchIncident } from '../support/incidents';

/**
 * Incident stakeholder notifications through the tenant's notifier
 * integrations: only those subscribed to the event (`events`), each verified
 * by its HMAC signature at a local receiver, from a request or from the SLA
 * clock; one receiver down does not stop
 * the others, and the retry does not deliver twice to one that got it; a
 * tenant with no subscribed integration keeps the old path.
 */
let app: TestApp;
let admin: string;
let sre: string;
let receiver: Server;
let base: string;
const SECRET = 'incident-hook-secret';

interface Seen {
  path: string;
  verified: boolean;
  delivery: string | undefined;
  body: any;
}
const seen: Seen[] = [];
/** Answers 503 to this many deliveries on /flaky before taking them. */
let flakyDown = 0;

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    if (req.method !== 'POST') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const [, t, v1] = /^t=(\d+),v1=([a-f0-9]{64})$/.exec(String(req.headers['x-tollgate-signature'] ?? '')) ?? [];
    const verified = !!t && createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex') === v1;
    if (req.url === '/flaky' && flakyDown > 0) {
      flakyDown--;
      return void res.writeHead(503).end('down for maintenance');
    }
    seen.push({ path: req.url ?? '', verified, delivery: req.headers['x-tollgate-delivery'] as string | undefined, body: JSON.parse(body) });
    res.writeHead(req.url === '/refusing' ? 400 : 204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // P4's response target is short so an SLA warning and breach happen within the test.
  app = await startTestApp({ env: { INCIDENT_SLA_RESPONSE: 'P1=1h,P2=1h,P3=1h,P4=3s', INCIDENT_SLA_WARNING: '0.5' } });
  admin = await app.token('rita@example.com', { roles: ['release-manager'] });
  sre = await app.token('nina@example.com', { roles: ['sre'] });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function hook(name: string, path: string, events: string[] | undefined, extra: Record<string, unknown> = {}) {
  const res = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'webhook', name, config: { url: `${base}${path}`, signingSecret: SECRET, ...extra }, ...(events ? { events } : {}) } });
  expect(res.status).toBe(201);
  return res.body.data;
}

const notification = (tenant: string, id: string, version: number, reason: string) => app.client.workflow.getHandle(`${tenant}:incident-notify:${id}:v${version}:${reason}`).result();
const to = (path: string, incidentId: string) => seen.filter((s) => s.path === path && s.body.data?.incident?.id === incidentId);

test('events: stored and shown, none by default; an unknown event or events on a non-notifier answer 422 naming each', async () => {
  const plain = await hook('no-events', '/plain', undefined);
  expect(plain.events).toEqual([]);
  const bad = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'webhook', name: 'bad-events', config: { url: `${base}/x` }, events: ['incident.created', 'incident.exploded', 'promotion.*'] } });
  expect(bad.status).toBe(422);
  expect(bad.body.error.code).toBe('INVALID_EVENTS');
  expect(bad.body.error.validationErrors.map((e: { field: string }) => e.field)).toEqual(['events.1', 'events.2']);
  const gate = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'http-gate', name: 'gate-events', config: { url: `${base}/x` }, events: ['incident.*'] } });
  expect([gate.status, gate.body.error?.code, gate.body.error?.validationErrors?.[0]?.field]).toEqual([422, 'INVALID_EVENTS', 'events']);
  const put = await app.http('PUT', `/api/v1/integrations/${plain.id}`, { token: admin, body: { typeId: 'webhook', name: 'no-events', config: { url: `${base}/plain` }, events: ['incident.resolution_breach', 'incident.resolution_breach'] } });
  expect([put.status, put.body.data.events]).toEqual([200, ['incident.resolution_breach']]);
  expect((await app.http('GET', `/api/v1/integrations/${plain.id}`, { token: admin })).body.data.events).toEqual(['incident.resolution_breach']);
  const badPut = await app.http('PUT', `/api/v1/integrations/${plain.id}`, { token: admin, body: { typeId: 'webhook', name: 'no-events', config: { url: `${base}/plain` }, events: ['nope'] } });
  expect([badPut.status, badPut.body.error.code]).toEqual([422, 'INVALID_EVENTS']);
});

test('notify_stakeholders reaches the subscribed integration, signed, and not the unsubscribed one; created and updated', async () => {
  const subscribed = await hook('incident-channel', '/subscribed', ['incident.created', 'incident.updated']);
  await hook('quiet-channel', '/quiet', []);
  const created = await createIncident(app, sre, { short_description: 'Checkout 500s', priority: 'P2', assignment_group: 'Payments', notify_stakeholders: true });
  const result = await notification(app.tenant, created.id, 1, 'created');
  expect(result).toEqual({
    delivered: 'integrations',
    notificationId: `incident:${created.id}:v1:created`,
    integrations: [expect.objectContaining({ integrationId: subscribed.id, name: 'incident-channel', outcome: 'delivered', status: 204, earlier: false })],
  });
  const [got] = to('/subscribed', created.id);
  expect(got).toMatchObject({ verified: true, delivery: `incident:${created.id}:v1:created`, body: { event: 'incident.created', id: `incident:${created.id}:v1:created`, data: { reason: 'created', incident: { id: created.id } } } });
  expect(got.body.title).toContain('Checkout 500s');

  await patchIncident(app, sre, created.id, { assigned_to: 'ops@example.com', notify_stakeholders: true });
  await eventually(() => expect(to('/subscribed', created.id).map((s) => s.body.event)).toEqual(['incident.created', 'incident.updated']));
  expect(seen.filter((s) => s.path === '/quiet' || s.path === '/plain')).toEqual([]);
});

test('one receiver down does not stop the others; the retry delivers to it and not again to those that had it; a refusal is recorded, not retried', async () => {
  await hook('flaky-channel', '/flaky', ['incident.*'], { maxAttempts: 1 });
  await hook('refusing-channel', '/refusing', ['incident.created'], { maxAttempts: 3 });
  flakyDown = 2;
  const created = await createIncident(app, sre, { short_description: 'Search index stale', priority: 'P3', notify_stakeholders: true });
  const result = (await notification(app.tenant, created.id, 1, 'created')) as any;
  const id = `incident:${created.id}:v1:created`;
  const byName = Object.fromEntries(result.integrations.map((o: { name: string }) => [o.name, o]));
  // Taken on the first attempt and skipped by the two retries.
  expect(byName['incident-channel']).toMatchObject({ outcome: 'delivered', earlier: true });
  expect(byName['refusing-channel']).toMatchObject({ outcome: 'refused', earlier: true, reason: expect.stringContaining('answered 400') });
  expect(byName['flaky-channel']).toMatchObject({ outcome: 'delivered', earlier: false });
  expect(to('/subscribed', created.id).map((s) => s.delivery)).toEqual([id]);
  expect(to('/refusing', created.id)).toHaveLength(1);
  expect(to('/flaky', created.id).map((s) => [s.delivery, s.verified])).toEqual([[id, true]]);
  const { rows } = await app.pool.query('SELECT outcome, count(*)::int AS n FROM incident_notification_deliveries WHERE tenant_id = $1 AND notification_id = $2 GROUP BY outcome ORDER BY outcome', [app.tenant, id]);
  expect(rows).toEqual([{ outcome: 'delivered', n: 2 }, { outcome: 'refused', n: 1 }]);
});

test('an SLA breach reaches the integration subscribed to it, and its warning does not', async () => {
  const breaches = await hook('breach-pager', '/breaches', ['incident.response_breach']);
  const created = await createIncident(app, sre, { short_description: 'Nobody picked this up', priority: 'P4' });
  const got = await eventually(() => {
    const at = to('/breaches', created.id);
    expect(at).toHaveLength(1);
    return at[0];
  });
  expect(got).toMatchObject({ verified: true, delivery: `incident:${created.id}:response_breach`, body: { event: 'incident.response_breach', data: { reason: 'response_breach' } } });
  // The warning came first and went to the incident.* subscriber only.
  await eventually(() => expect(to('/flaky', created.id).map((s) => s.body.event)).toEqual(['incident.response_warning', 'incident.response_breach']));
  expect(to('/breaches', created.id)).toHaveLength(1);
  expect(breaches.events).toEqual(['incident.response_breach']);
});

test('a tenant with no subscribed integration keeps the old path (the group webhook, or a log line)', async () => {
  const other = `${app.tenant}-plain`;
  const otherSre = await app.token('nina@example.com', { roles: ['sre'], tenant: other });
  const created = await createIncident(app, otherSre, { short_description: 'Printer jammed', notify_stakeholders: true });
  expect(await notification(other, created.id, 1, 'created')).toEqual({ delivered: 'log' });
});

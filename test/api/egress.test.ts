import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';

/**
 * The egress bound over HTTP: with EGRESS_DENY_CIDRS holding loopback (as an
 * operator sets it where tenants must not reach the internal network), an
 * integration's test and a template run's http and notify steps are refused
 * before any connection — by IP literal and by a name resolving to it — and
 * the local server never sees a request. The default list (link-local, the
 * metadata service) is refused the same way in every other test file's app.
 */
let app: TestApp;
let server: Server;
let port: number;
let hits = 0;
let admin: string;

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  app = await startTestApp({ env: { EGRESS_DENY_CIDRS: `${'169.254.0.0/16'},127.0.0.0/8,::1/128` } });
  admin = await app.token('rita@example.com', { roles: ['release-manager'] });
});
afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function testIntegration(url: string) {
  const created = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'http-gate', name: `gate ${randomUUID().slice(0, 6)}`, config: { url, timeoutMs: 2000 } } });
  expect(created.status).toBe(201);
  const tested = await app.http('POST', `/api/v1/integrations/${created.body.data.id}/test`, { token: admin });
  expect(tested.status).toBe(200);
  return tested.body.data;
}

test('an integration aimed at a denied address answers ok:false with the reason, by literal and by name', async () => {
  expect(await testIntegration(`http://127.0.0.1:${port}/health`)).toMatchObject({ ok: false, reason: '127.0.0.1 is not an address Tollgate may call (EGRESS_DENY_CIDRS)' });
  expect(await testIntegration(`http://localhost:${port}/health`)).toMatchObject({ ok: false, reason: expect.stringMatching(/^localhost resolves to (127\.0\.0\.1|::1), which is not an address Tollgate may call/) });
  expect(await testIntegration('http://169.254.169.254/latest/meta-data/')).toMatchObject({ ok: false, reason: expect.stringContaining('169.254.169.254 is not an address') });
  expect(hits).toBe(0);
});

test('a template run’s http and notify steps fail with EGRESS_DENIED, and nothing reaches the server', async () => {
  const template = await app.http('POST', '/api/v1/workflow-templates', {
    token: admin,
    body: {
      name: `egress ${randomUUID().slice(0, 6)}`,
      nodes: [
        { id: 'probe', type: 'http', inputs: { url: `http://localhost:${port}/internal` }, continueOnError: true },
        { id: 'tell', type: 'notify', inputs: { url: `http://127.0.0.1:${port}/hook`, text: 'hi' }, continueOnError: true },
      ],
    },
  });
  expect(template.status).toBe(201);
  const run = await app.http('POST', '/api/v1/workflow-runs', { token: admin, body: { templateId: template.body.data.id, parameters: {} } });
  expect(run.status).toBe(201);
  const done = await until('the run to finish', async () => {
    const res = await app.http('GET', `/api/v1/workflow-runs/${run.body.data.id}`, { token: admin });
    return ['succeeded', 'failed'].includes(res.body.data.status) ? res.body.data : undefined;
  }, 60_000);
  const nodes = Object.fromEntries(done.nodes.map((n: { nodeId: string }) => [n.nodeId, n]));
  expect(nodes.probe).toMatchObject({ status: 'failed', error: { code: 'EGRESS_DENIED', message: expect.stringMatching(/localhost resolves to .*EGRESS_DENY_CIDRS/) } });
  expect(nodes.tell).toMatchObject({ status: 'failed', error: { code: 'EGRESS_DENIED', message: expect.stringContaining('127.0.0.1 is not an address Tollgate may call') } });
  expect(hits).toBe(0);
});

test('a bad EGRESS_DENY_CIDRS stops the process with the variable named', async () => {
  const { loadConfig } = await import('../../platform/config');
  expect(() => loadConfig({ EGRESS_DENY_CIDRS: '10.0.0.0/8,intranet' })).toThrow(/EGRESS_DENY_CIDRS.*CIDRs/);
});

import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';

/** One JSON access-log line per request, carrying what an operator filters on. */
let app: TestApp;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  app = await startTestApp({ worker: false, logLines: lines });
});
afterAll(() => app.close());

test('request id, tenant, user, route, status and latency are on the access log line', async () => {
  const token = await app.token('alice@example.com');
  await app.http('GET', '/prod/api/changes/CHG0000042', { token, headers: { 'x-request-id': 'log-check-1' } });
  const line = await until('the access log line', () => lines.find((l) => l.requestId === 'log-check-1' && l.msg === 'request'), 5_000, 50);
  expect(line).toMatchObject({
    level: 'info',
    service: 'api',
    requestId: 'log-check-1',
    tenant: app.tenant,
    user: 'alice@example.com',
    method: 'GET',
    path: '/prod/api/changes/CHG0000042',
    route: '/prod/api/changes/:id',
    status: 404,
    latencyMs: expect.any(Number),
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  });
});

test('anonymous requests are logged too, without a tenant', async () => {
  await app.http('GET', '/api/v1/changes', { headers: { 'x-request-id': 'log-check-2' } });
  const line = await until('the access log line', () => lines.find((l) => l.requestId === 'log-check-2' && l.msg === 'request'), 5_000, 50);
  expect(line).toMatchObject({ status: 401, route: '/api/v1/changes' });
  expect(line).not.toHaveProperty('tenant');
});

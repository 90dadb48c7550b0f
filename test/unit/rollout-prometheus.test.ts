import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { queryPrometheus } from '../../activities/rollouts/prometheus';

/** The prometheus provider's query against a local server that answers as Prometheus's HTTP API does. */
let server: Server;
let address: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const query = new URL(req.url!, 'http://x').searchParams.get('query') ?? '';
    seen.push(query);
    res.setHeader('content-type', 'application/json');
    if (query === 'bad(') {
      res.statusCode = 400;
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }));
    } else if (query === 'empty') res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
    else if (query === 'nan') res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, 'NaN'] }] } }));
    else res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { version: '2.4.0' }, value: [1, '0.125'] }] } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

test('the first series’ value of /api/v1/query; no data and NaN are null; a refused query fails for good', async () => {
  expect(await queryPrometheus(address, 'sum(rate(http_requests_total{version="2.4.0"}[30s]))')).toBe(0.125);
  expect(seen.at(-1)).toBe('sum(rate(http_requests_total{version="2.4.0"}[30s]))');
  expect(await queryPrometheus(address, 'empty')).toBeNull();
  expect(await queryPrometheus(address, 'nan')).toBeNull();
  await expect(queryPrometheus(address, 'bad(')).rejects.toMatchObject({ type: 'PROMETHEUS_QUERY_REFUSED', nonRetryable: true, message: expect.stringMatching(/answered 400: parse error/) });
});

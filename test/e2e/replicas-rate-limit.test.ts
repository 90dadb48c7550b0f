import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { startApiReplica } from '../support/api-process';
import { startTestApp, type TestApp } from '../support/app';
import { ROOT, type Spawned } from '../support/processes';

/**
 * Two API replicas against one Postgres and one Temporal, as when a second
 * `npm run api` runs beside `npm start`: one user bursting over both gets the
 * limit through, not the limit per replica.
 */
const taskQueue = `e2e-replicas-${randomUUID()}`;
// An hour's window, so a burst never straddles a window boundary.
const LIMITS = { RATE_LIMIT_USER: '20', RATE_LIMIT_TENANT: '1000', RATE_LIMIT_WINDOW: '1h', RATE_LIMIT_BULK_RECORDS: '30', RATE_LIMIT_BULK_WINDOW: '1h' };
let app: TestApp;
let second: Spawned;
let secondUrl: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { TEMPORAL_TASK_QUEUE: taskQueue, ...LIMITS } });
  ({ proc: second, url: secondUrl } = await startApiReplica(app, ['--import', 'tsx', path.join(ROOT, 'api/server.ts')], LIMITS));
}, 120_000);
afterAll(async () => {
  second?.child.kill('SIGTERM');
  await second?.exited;
  await app.close();
});

async function call(base: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const replicas = () => [app.url, secondUrl];

test('a burst spread over two replicas gets exactly the limit through, each answer with exact headers', async () => {
  const token = await app.token('burst@example.com');
  // Both replicas at once, pair after pair: each pair races for the shared count, and a replica slower to start
  // answering (a loaded machine) cannot see its whole share refused before it counted anything.
  const answers: Awaited<ReturnType<typeof call>>[] = [];
  for (let pair = 0; pair < 30; pair++) {
    answers.push(...(await Promise.all(replicas().map((url) => call(url, 'GET', '/prod/api/changes?limit=1', token)))));
  }
  const passed = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  expect(passed).toHaveLength(20);
  expect(refused).toHaveLength(40);
  // Both replicas answered some of each: the count is one, not one per replica.
  for (const url of replicas()) expect(answers.some((a, i) => replicas()[i % 2] === url && a.status === 200)).toBe(true);
  // Every request that passed saw a different count: the remaining budgets are 19 down to 0, once each.
  expect(passed.map((a) => Number(a.headers.get('x-ratelimit-remaining'))).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  for (const a of [...passed, ...refused]) expect(a.headers.get('x-ratelimit-limit')).toBe('20');
  for (const a of refused) {
    expect(a.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(a.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'user' } });
  }
});

test("a viewer's refused bulk POSTs over both replicas are counted and limited", async () => {
  const viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  const body = { operation: 'create', records: [{ short_description: 'Not mine to create' }] };
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await call(replicas()[i % 2]!, 'POST', '/prod/api/incidents/bulk', viewer, body)).status);
  expect(statuses.slice(0, 30)).toEqual(Array(30).fill(403));
  expect(statuses.slice(30)).toEqual(Array(10).fill(429));
});

test('a burst of bulk creates over both replicas stops at the records budget', async () => {
  const sre = await app.token('sre@example.com', { roles: ['sre'] });
  const body = { operation: 'create', records: Array.from({ length: 10 }, (_, i) => ({ short_description: `Burst ${i}` })) };
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => call(replicas()[i % 2]!, 'POST', '/prod/api/incidents/bulk', sre, body)));
  // 30 records a window: three requests of 10 at most, and each refused one spent at least its first record.
  const accepted = answers.filter((a) => a.status === 202).length;
  expect(accepted).toBeGreaterThanOrEqual(2);
  expect(accepted).toBeLessThanOrEqual(3);
  expect(answers.filter((a) => a.status === 429)).toHaveLength(8 - accepted);
  const { rows } = await app.pool.query(`SELECT coalesce(sum(total), 0)::int AS records FROM incident_bulk_jobs WHERE tenant_id = $1`, [app.tenant]);
  expect(rows[0].records).toBe(accepted * 10);
});

import net from 'node:net';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';

/** Rate limits per user and per tenant, and health that tells the truth when a dependency is down. */

// Windows start at multiples of their length since the epoch; a long one keeps a test's burst of requests
// from straddling a boundary, where the counters would start again mid-test.
const WINDOW = '1h';

describe('rate limiting', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ worker: false, env: { RATE_LIMIT_USER: '5', RATE_LIMIT_TENANT: '8', RATE_LIMIT_WINDOW: WINDOW } });
  });
  afterAll(() => app.close());

  test('every response carries the headers; the user limit answers 429 with Retry-After', async () => {
    const token = await app.token('alice@example.com');
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.http('GET', '/prod/api/changes', { token });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      remaining.push(Number(res.headers.get('x-ratelimit-remaining')));
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const limited = await app.http('GET', '/api/v1/changes', { token });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'user' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  test('the tenant limit binds across users', async () => {
    const statuses: number[] = [];
    for (const user of ['bob', 'carol', 'dave']) {
      const token = await app.token(`${user}@example.com`, { tenant: `${app.tenant}-shared` });
      for (let i = 0; i < 3; i++) statuses.push((await app.http('GET', '/prod/api/changes', { token })).status);
    }
    // 8 per tenant: the ninth request, though its user is under 5, is refused.
    expect(statuses.filter((s) => s === 200)).toHaveLength(8);
    expect(statuses[8]).toBe(429);
  });

  test('anonymous and failed requests are limited and carry headers too', async () => {
    const res = await app.http('GET', '/api/v1/changes');
    expect(res.status).toBe(401);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).not.toBeNull();
  });
});

describe('health has an allowance of its own', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { RATE_LIMIT_USER: '5', RATE_LIMIT_TENANT: '8', RATE_LIMIT_WINDOW: WINDOW } });
  });
  afterAll(() => app.close());

  test('a flood of bad tokens from one address is refused with 429, and health from that address still answers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await app.http('GET', '/prod/api/changes', { token: 'not.a.token' })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);

    // A probe is answered by health itself (200 once the worker's first poll is in), never by the limiter.
    const health = await eventually(async () => {
      const res = await app.http('GET', '/api/v1/health');
      expect(res.status).toBe(200);
      return res;
    });
    expect(health.body.data.checks.worker).toMatchObject({ status: 'up', taskQueue: app.config.TEMPORAL_TASK_QUEUE, pollers: 1 });
    expect(health.headers.get('x-ratelimit-limit')).toBe('5');
    // Its own bucket: the flood above did not use it up, and an authenticated caller's probes do not spend the user's.
    const token = await app.token('probe-owner@example.com');
    expect((await app.http('GET', '/prod/api/health', { token })).status).toBe(200);
    expect((await app.http('GET', '/prod/api/changes', { token })).headers.get('x-ratelimit-remaining')).toBe('4');
  });
});

describe('health reports the worker', () => {
  let app: TestApp;
  beforeAll(async () => {
    // The test stack's dev server renews idle polls every 10 s; a worker silent for 15 s is gone.
    app = await startTestApp({ env: { HEALTH_WORKER_STALE_AFTER: '15s' } });
  });
  afterAll(() => app.close());

  test('with no worker polling the task queue health is 503 naming the worker, and 200 again once one polls', async () => {
    await eventually(async () => expect((await app.http('GET', '/api/v1/health')).status).toBe(200));

    await app.stopWorker();
    const down = await eventually(
      async () => {
        const res = await app.http('GET', '/api/v1/health');
        expect(res.status).toBe(503);
        return res;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(down.headers.get('retry-after')).toBeTruthy();
    expect(down.body.error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', message: 'Unavailable: worker' });
    expect(down.body.error.details.checks).toMatchObject({
      postgres: { status: 'up' },
      temporal: { status: 'up' },
      worker: { status: 'down', pollers: 0, taskQueue: app.config.TEMPORAL_TASK_QUEUE, error: expect.stringContaining(`no worker has polled task queue ${app.config.TEMPORAL_TASK_QUEUE}`) },
    });
    const sf = await app.http('GET', '/prod/api/health');
    expect(sf.status).toBe(503);
    expect(sf.body).toMatchObject({ status: 'degraded', checks: { worker: { status: 'down' } } });

    await app.startWorker();
    const up = await eventually(
      async () => {
        const res = await app.http('GET', '/prod/api/health');
        expect(res.status).toBe(200);
        return res;
      },
      { timeoutMs: 30_000 },
    );
    expect(up.body.checks.worker).toMatchObject({ status: 'up', pollers: expect.any(Number), lastPollAgeMs: expect.any(Number) });
  });
});

describe('health with a dependency down', () => {
  test('Temporal unreachable: 503 naming temporal, Postgres still up', async () => {
    const app = await startTestApp({ worker: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
    try {
      const res = await app.http('GET', '/api/v1/health');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(res.body.error.details.checks.postgres.status).toBe('up');
      expect(res.body.error.details.checks.temporal).toMatchObject({ status: 'down', error: expect.any(String) });
      const sf = await app.http('GET', '/prod/api/health');
      expect(sf.status).toBe(503);
      expect(sf.body).toMatchObject({ status: 'degraded', checks: { temporal: { status: 'down' } } });
      // A command that needs Temporal is a retryable 503, not a 500; once the cluster is known down, at once.
      const token = await app.token('alice@example.com');
      const create = await app.http('POST', '/prod/api/changes', { token, body: { type: 'emergency', short_description: 'x' } });
      expect(create.status).toBe(503);
      expect(create.body.error.code).toBe('TEMPORAL_UNAVAILABLE');
      expect(create.headers.get('retry-after')).toBeTruthy();
      const started = Date.now();
      const again = await app.http('POST', '/prod/api/changes', { token, body: { type: 'emergency', short_description: 'x' } });
      expect(again.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await app.close();
    }
  });

  test('Postgres unreachable: 503 naming postgres', async () => {
    const app = await startTestApp({ worker: false, env: { DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none' } });
    try {
      const res = await app.http('GET', '/prod/api/health');
      expect(res.status).toBe(503);
      expect(res.body.checks.postgres.status).toBe('down');
      expect(res.body.checks.temporal.status).toBe('up');
    } finally {
      await app.close();
    }
  });

  test('Postgres dropping every connection: reads and commands are a retryable 503, never a 500', async () => {
    // What a restarting server does to its clients: some see pg's "Connection terminated", some the raw
    // ECONNRESET (under jest an Error from another realm, which api/app.ts wraps for the error handler).
    // Refused connections are covered end to end in test/e2e/supervision.test.ts.
    const dropper = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const { port } = dropper.address() as net.AddressInfo;
    const app = await startTestApp({ worker: false, env: { DATABASE_URL: `postgres://nobody:nothing@127.0.0.1:${port}/none` } });
    try {
      const token = await app.token('alice@example.com');
      const reads = [await app.http('GET', '/prod/api/changes', { token }), await app.http('GET', '/api/v1/changes/CHG0000001', { token })];
      const create = await app.http('POST', '/prod/api/changes', { token, body: { type: 'emergency', short_description: 'x' }, headers: { 'idempotency-key': 'db-down-1' } });
      for (const res of [...reads, create]) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        expect(res.body.error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', details: { dependency: 'postgres', retryAfterSeconds: 5 } });
      }
    } finally {
      await app.close();
      dropper.close();
    }
  });
});

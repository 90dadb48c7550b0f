import { startTestApp, type TestApp } from '../support/app';

/** Rate limits per user and per tenant, and health that tells the truth when a dependency is down. */

describe('rate limiting', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ worker: false, env: { RATE_LIMIT_USER: '5', RATE_LIMIT_TENANT: '8', RATE_LIMIT_WINDOW: '60s' } });
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
      // A command that needs Temporal is a retryable 503, not a 500.
      const token = await app.token('alice@example.com');
      const create = await app.http('POST', '/prod/api/changes', { token, body: { type: 'emergency', short_description: 'x' } });
      expect(create.status).toBe(503);
      expect(create.headers.get('retry-after')).toBeTruthy();
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
});

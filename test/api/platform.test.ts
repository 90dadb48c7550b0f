import { startTestApp, type TestApp } from '../support/app';
import { testEnv } from '../support/env';

/** The API foundation every module stands on: envelopes, errors, request ids, docs, metrics, health. */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp({ env: { BODY_LIMIT_BYTES: '4096' } });
  token = await app.token('alice@example.com');
});
afterAll(() => app.close());

describe('error envelopes', () => {
  test('an unknown route is a 404 in each dialect', async () => {
    const stella = await app.http('GET', '/api/v1/nope', { token });
    expect(stella.status).toBe(404);
    expect(stella.body).toEqual({
      success: false,
      error: { code: 'ROUTE_NOT_FOUND', message: 'No route for GET /api/v1/nope' },
      meta: { requestId: expect.any(String), timestamp: expect.any(String) },
    });
    const stackflow = await app.http('GET', '/prod/api/nope', { token });
    expect(stackflow.status).toBe(404);
    expect(stackflow.body).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'No route for GET /prod/api/nope' }, request_id: expect.any(String) });
  });

  test('malformed JSON is a 400 MALFORMED_JSON', async () => {
    const res = await app.http('POST', '/api/v1/changes', { token, raw: '{"type": "normal", ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
    expect(res.body.success).toBe(false);
  });

  test('a body that is not JSON is a 415', async () => {
    const res = await app.http('POST', '/prod/api/changes', { token, raw: 'type=normal', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('an oversized body is a 413 and nothing is created', async () => {
    const before = await app.pool.query('SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1', [app.tenant]);
    const res = await app.http('POST', '/api/v1/changes', { token, body: { type: 'normal', short_description: 'x', description: 'y'.repeat(8000) } });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 4096 } });
    const after = await app.pool.query('SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1', [app.tenant]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  test('zod failures list every field with a code, in each dialect', async () => {
    const res = await app.http('POST', '/api/v1/changes', { token, body: { type: 'sometimes', short_description: '' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.validationErrors).toEqual(
      expect.arrayContaining([
        { field: 'type', code: 'invalid_value', message: expect.any(String) },
        { field: 'short_description', code: 'too_small', message: 'is required' },
      ]),
    );
    const sf = await app.http('POST', '/prod/api/changes', { token, body: { type: 'sometimes', short_description: 'ok' } });
    expect(sf.status).toBe(400);
    expect(sf.body.error.validation_errors).toEqual([{ field: 'type', code: 'invalid_value', message: expect.any(String) }]);
  });

  test('an unexpected failure is a 500 in the envelope, with no internals', async () => {
    // An API pointed at a database without Tollgate's tables fails inside a handler.
    const broken = await startTestApp({ worker: false, env: { DATABASE_URL: testEnv.databaseUrl.replace(/\/[^/]+$/, '/postgres') } });
    try {
      const res = await broken.http('GET', '/api/v1/changes', { token: await broken.token('alice@example.com') });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        success: false,
        error: { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred; it has been logged with this request id' },
        meta: { requestId: res.headers.get('x-request-id'), timestamp: expect.any(String) },
      });
      expect(res.text).not.toMatch(/relation|changes|\bat\b/);
    } finally {
      await broken.close();
    }
  });

  test('error bodies never carry stack traces', async () => {
    const res = await app.http('POST', '/api/v1/changes', { token, raw: '{', headers: { 'content-type': 'application/json' } });
    expect(res.text).not.toMatch(/\n\s+at /);
    expect(res.text).not.toMatch(/node_modules|\.ts:\d+/);
  });
});

describe('request ids', () => {
  test('a valid incoming X-Request-Id is echoed, in the header and the body', async () => {
    const res = await app.http('GET', '/api/v1/nope', { token, headers: { 'x-request-id': 'req-abc_123.4' } });
    expect(res.headers.get('x-request-id')).toBe('req-abc_123.4');
    expect(res.body.meta.requestId).toBe('req-abc_123.4');
  });

  test('a missing or unsafe one is replaced by a fresh uuid', async () => {
    const none = await app.http('GET', '/api/v1/health');
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await app.http('GET', '/api/v1/health', { headers: { 'x-request-id': 'bad id with spaces <script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('health', () => {
  test('reports real Postgres and Temporal with latencies, without auth, on every prefix', async () => {
    for (const path of ['/api/v1/health', '/prod/api/health', '/prod/api/v1/health']) {
      const res = await app.http('GET', path);
      expect(res.status).toBe(200);
      const body = path.startsWith('/api') ? res.body.data : res.body;
      expect(body).toMatchObject({
        status: 'ok',
        checks: { postgres: { status: 'up', latencyMs: expect.any(Number) }, temporal: { status: 'up', latencyMs: expect.any(Number) } },
      });
    }
  });
});

describe('OpenAPI and docs', () => {
  test('the OpenAPI 3.1 document is generated from the routes, with the bearer scheme', async () => {
    const res = await app.http('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/health', '/api/v1/changes', '/api/v1/changes/{id}', '/api/v1/changes/{id}/submit-cab', '/api/v1/changes/{id}/approve', '/api/v1/changes/{id}/reject', '/api/v1/changes/{id}/risk']),
    );
    expect(doc.paths['/api/v1/health'].get.security).toEqual([]);
    expect(doc.paths['/api/v1/changes'].post.requestBody.content['application/json'].schema).toBeDefined();
    expect(doc.components.schemas.Change.properties.short_description).toBeDefined();
    // Only the Stella prefix is documented; the StackFlow aliases are described in the info text.
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/prod'))).toBe(false);
  });

  test('/docs serves Swagger UI from the package, with its assets', async () => {
    const page = await app.http('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('/api/v1/openapi.json');
    const bundle = await app.http('GET', '/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(bundle.text.length).toBeGreaterThan(100_000);
  });
});

describe('metrics', () => {
  test('/metrics exposes request counts and latency histograms by route and status', async () => {
    await app.http('GET', '/api/v1/health');
    await app.http('GET', '/prod/api/changes', { token });
    const res = await app.http('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/tollgate_http_requests_total\{method="GET",route="\/api\/v1\/health",status="200"\} \d+/);
    expect(res.text).toMatch(/tollgate_http_request_duration_seconds_bucket\{le="[0-9.]+",method="GET",route="\/prod\/api\/changes",status="200"\}/);
    expect(res.text).toContain('tollgate_api_process_cpu_seconds_total');
  });
});

describe('dialects share one set of handlers', () => {
  test('lists: Stella envelope with PaginationMeta, StackFlow {data, next_cursor, total} on both prefixes', async () => {
    const stella = await app.http('GET', '/api/v1/changes?page=1&pageSize=10', { token });
    expect(stella.status).toBe(200);
    expect(stella.body).toMatchObject({
      success: true,
      data: expect.any(Array),
      meta: { pagination: { page: 1, pageSize: 10, totalItems: expect.any(Number), totalPages: expect.any(Number), hasNext: expect.any(Boolean), hasPrevious: false } },
    });
    for (const prefix of ['/prod/api', '/prod/api/v1']) {
      const sf = await app.http('GET', `${prefix}/changes?limit=5`, { token });
      expect(sf.status).toBe(200);
      expect(Object.keys(sf.body).sort()).toEqual(['data', 'next_cursor', 'total']);
    }
  });
});

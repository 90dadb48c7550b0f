import http from 'node:http';
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

  test('a body is answered with all its problems at once, one per field, in one voice', async () => {
    const res = await app.http('POST', '/api/v1/changes', { token, body: { short_description: 7, scheduled_start: '2030-01-02T00:00:00Z', scheduled_end: '2030-01-01T00:00:00Z' } });
    expect(res.status).toBe(400);
    expect(res.body.error.validationErrors).toEqual([
      { field: 'type', code: 'required', message: 'is required' },
      { field: 'short_description', code: 'invalid_type', message: 'must be a string' },
      { field: 'scheduled_end', code: 'invalid_window', message: 'must be after scheduled_start' },
    ]);
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

  test('the StackFlow dialect has its own document, rendered from the same routes: bare bodies, cursor pages, its error body', async () => {
    for (const at of ['/prod/api/openapi.json', '/prod/api/v1/openapi.json']) {
      const res = await app.http('GET', at);
      expect(res.status).toBe(200);
      const prefix = at.replace('/openapi.json', '');
      expect(Object.keys(res.body.paths).every((p) => p.startsWith(`${prefix}/`))).toBe(true);
    }
    const stella = (await app.http('GET', '/api/v1/openapi.json')).body;
    const sf = (await app.http('GET', '/prod/api/openapi.json')).body;
    const operations = (doc: any) => Object.values(doc.paths).flatMap((item: any) => Object.values(item).map((op: any) => op.operationId)).sort();
    expect(operations(sf)).toEqual(operations(stella));

    expect(sf.paths['/prod/api/changes'].post.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Change' });
    const list = sf.paths['/prod/api/changes'].get;
    expect(list.responses['200'].content['application/json'].schema.properties).toEqual({
      data: { type: 'array', items: { $ref: '#/components/schemas/Change' } },
      next_cursor: expect.objectContaining({ type: ['string', 'null'] }),
      total: { type: 'integer' },
    });
    const params = (op: any) => op.parameters.map((p: any) => p.name);
    expect(params(list)).toEqual(expect.arrayContaining(['cursor', 'limit']));
    expect(params(list)).not.toContain('pageSize');
    expect(params(stella.paths['/api/v1/changes'].get)).toEqual(expect.arrayContaining(['page', 'pageSize']));
    expect(params(stella.paths['/api/v1/changes'].get)).not.toContain('cursor');
    expect(sf.components.schemas.Error.required).toEqual(['error', 'request_id']);
    expect(stella.components.schemas.Error.required).toEqual(['success', 'error', 'meta']);
    // Creating links to every operation on the change, with the id where each dialect puts it.
    expect(stella.paths['/api/v1/changes'].post.responses['201'].links.approveChange).toEqual({ operationId: 'approveChange', parameters: { id: '$response.body#/data/id' } });
    expect(sf.paths['/prod/api/changes'].post.responses['201'].links.approveChange).toEqual({ operationId: 'approveChange', parameters: { id: '$response.body#/id' } });
  });

  test('what the server enforces is declared: statuses with their codes, header formats, the health envelope', async () => {
    const doc = (await app.http('GET', '/api/v1/openapi.json')).body;
    const submit = doc.paths['/api/v1/changes/{id}/submit'].post;
    expect(Object.keys(submit.responses)).toEqual(['200', '400', '401', '403', '404', '409', '422', '429', '503']);
    expect(submit.responses['422'].description).toMatch(/MAINTENANCE_WINDOW_PASSED/);
    expect(doc.paths['/api/v1/changes/{id}/submit-cab'].post.responses['422'].description).toMatch(/CAB_NOT_APPLICABLE/);
    const key = submit.parameters.find((p: any) => p.name === 'idempotency-key');
    expect(key).toMatchObject({ in: 'header', required: false, schema: { type: 'string', pattern: '^[!-~]{1,255}$' } });
    const health = doc.paths['/api/v1/health'].get.responses['200'].content['application/json'].schema;
    expect(health.required).toEqual(['success', 'data', 'meta']);
    expect(health.properties.data).toEqual({ $ref: '#/components/schemas/Health' });
    expect(doc.components.schemas.ChangePatch.dependentSchemas.actual_start).toEqual({ required: ['state'], properties: { state: { const: 'in_progress' } } });
  });

  test('list filters the document allows empty are no filter; a blank search is no search', async () => {
    const all = await app.http('GET', '/api/v1/changes', { token });
    for (const query of ['risk=&risk_level=', 'state=&type=', 'q=%20%20', 'assignment_group=']) {
      const res = await app.http('GET', `/api/v1/changes?${query}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.meta.pagination.totalItems).toBe(all.body.meta.pagination.totalItems);
    }
    const bad = await app.http('GET', '/prod/api/changes?risk=low,', { token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.validation_errors[0].field).toBe('risk');
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

describe('methods', () => {
  test('a known path asked with a method it does not serve is a 405 naming the ones it does (Allow), in each dialect', async () => {
    const stella = await app.http('DELETE', '/api/v1/changes', { token });
    expect(stella.status).toBe(405);
    expect(stella.headers.get('allow')).toBe('GET, POST, HEAD, OPTIONS');
    expect(stella.body).toMatchObject({ success: false, error: { code: 'METHOD_NOT_ALLOWED', details: { allow: ['GET', 'POST', 'HEAD', 'OPTIONS'] } } });
    const sf = await app.http('PUT', '/prod/api/changes/CHG0000001', { token, body: {} });
    expect(sf.status).toBe(405);
    expect(sf.headers.get('allow')).toBe('GET, PATCH, HEAD, OPTIONS');
    expect(sf.body).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' }, request_id: expect.any(String) });
    // fetch refuses to send TRACE; node's http client does not.
    const trace = await new Promise<http.IncomingMessage>((resolve, reject) => http.request(`${app.url}/api/v1/health`, { method: 'TRACE' }, resolve).on('error', reject).end());
    trace.resume();
    expect(trace.statusCode).toBe(405);
    expect(trace.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  test('OPTIONS answers 204 with Allow; an unknown path is still a 404', async () => {
    const options = await app.http('OPTIONS', '/api/v1/changes/CHG0000001/approve', { token });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await app.http('DELETE', '/api/v1/nope', { token })).status).toBe(404);
    expect((await app.http('GET', '/docs/nope.js')).status).toBe(404);
  });

  test('methods are checked after authentication: an anonymous DELETE is a 401', async () => {
    expect((await app.http('DELETE', '/api/v1/changes')).status).toBe(401);
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

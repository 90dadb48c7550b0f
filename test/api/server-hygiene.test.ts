import http from 'node:http';
import net from 'node:net';
import { startTestApp, type TestApp } from '../support/app';

/**
 * The HTTP server below the app: an answer given before the body arrived
 * closes the connection cleanly (no keep-alive promise, no reset), and a
 * request too slow to arrive is answered 408 in the envelope within the
 * configured timeouts.
 */
let app: TestApp;
let token: string;
const LIMIT = 64 * 1024;

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { BODY_LIMIT_BYTES: String(LIMIT), HTTP_HEADERS_TIMEOUT: '1s', HTTP_REQUEST_TIMEOUT: '2s' } });
  token = await app.token('alice@example.com');
});
afterAll(() => app.close());

interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  requestError?: Error;
}

/**
 * Sends `first` bytes of a body, waits for the server's answer, then sends
 * the rest a while later (as a slow or far client would), on a pooled
 * keep-alive connection. Resolves once the request is finished either way.
 */
function sendInTwoParts(agent: http.Agent, path: string, headers: Record<string, string>, body: Buffer, first: number): Promise<Sent> {
  return new Promise((resolve, reject) => {
    let requestError: Error | undefined;
    const req = http.request(`${app.url}${path}`, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } });
    req.on('error', (err) => (requestError = err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        setTimeout(() => {
          req.end(body.subarray(first), () => undefined);
          // Give a reset, if one is coming, the time to arrive.
          setTimeout(() => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()), requestError }), 300);
        }, 700);
      });
    });
    req.write(body.subarray(0, first));
    req.on('close', () => undefined);
    setTimeout(() => reject(new Error('no answer within 10s')), 10_000).unref();
  });
}

function get(agent: http.Agent, path: string): Promise<{ status: number; socketReused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${app.url}${path}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, socketReused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('answers given before the body arrived', () => {
  test.each([
    ['413: the body is over the limit', '/api/v1/changes', 'application/json', LIMIT * 8, 413, 'PAYLOAD_TOO_LARGE'],
    ['415: a large body that is not JSON', '/prod/api/changes', 'text/plain', LIMIT - 1, 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('%s: Connection: close, no reset, and the next pooled request is served', async (_what, path, type, size, status, code) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let round = 0; round < 3; round++) {
        const sent = await sendInTwoParts(agent, path, { authorization: `Bearer ${token}`, 'content-type': type }, Buffer.alloc(size, 'x'), 1024);
        expect(sent.status).toBe(status);
        expect(sent.headers.connection).toBe('close');
        expect(sent.body.error.code).toBe(code);
        expect(sent.requestError).toBeUndefined();
        const next = await get(agent, '/api/v1/openapi.json');
        expect(next).toEqual({ status: 200, socketReused: false });
      }
    } finally {
      agent.destroy();
    }
  });

  test('an answer after the whole body arrived keeps the connection alive', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(agent, '/api/v1/openapi.json');
      const second = await get(agent, '/api/v1/openapi.json');
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.socketReused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});

/** Writes raw bytes on a fresh connection and collects everything the server sends until it closes. */
function raw(bytes: string): Promise<{ text: string; elapsedMs: number; status: number; body: any; headers: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(new URL(app.url).port as unknown as number, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body] = text.split('\r\n\r\n');
      resolve({ text, elapsedMs: Date.now() - started, status: Number(head.split(' ')[1]), headers: head, body: body ? JSON.parse(body) : undefined });
    });
    setTimeout(() => socket.destroy(new Error(`connection still open after 15s; got: ${text}`)), 15_000).unref();
  });
}

describe('server timeouts', () => {
  test('headers that never finish: 408 in the Stella envelope after HTTP_HEADERS_TIMEOUT, then close', async () => {
    const res = await raw('GET /api/v1/changes HTTP/1.1\r\nHost: tollgate\r\nX-Slow: ');
    expect(res.status).toBe(408);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'REQUEST_TIMEOUT', message: expect.stringContaining('did not arrive in time') },
      meta: { requestId: expect.any(String), timestamp: expect.any(String) },
    });
    expect(res.headers).toMatch(/\r\nconnection: close/i);
    expect(res.elapsedMs).toBeGreaterThanOrEqual(900);
    expect(res.elapsedMs).toBeLessThan(5_000);
  });

  test('a body that stops halfway: 408 in the StackFlow error body after HTTP_REQUEST_TIMEOUT', async () => {
    const res = await raw(
      `POST /prod/api/changes HTTP/1.1\r\nHost: tollgate\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`,
    );
    expect(res.status).toBe(408);
    expect(res.body).toEqual({ error: { code: 'REQUEST_TIMEOUT', message: expect.any(String) }, request_id: expect.any(String) });
    expect(res.elapsedMs).toBeGreaterThanOrEqual(1_900);
    expect(res.elapsedMs).toBeLessThan(6_000);
    const after = await app.pool.query('SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1', [app.tenant]);
    expect(after.rows[0].n).toBe(0);
  });

  test('a request that is not HTTP: 400 in the envelope', async () => {
    const res = await raw('HELLO\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_REQUEST');
  });
});

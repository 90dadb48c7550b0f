import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The far end of a `traffic-webhook` integration for a test: a node:http
 * server on a free port that keeps one route's weights, records every PUT
 * and GET (with whether its bearer token was the expected one) and answers PUT and
 * GET with the weights it has, in the shape Tollgate documents. `failNext`
 * answers that many PUTs 503 first (a receiver busy for a while).
 */
export interface TrafficReceiver {
  url: string;
  puts: Array<{ authorized: boolean; body: any }>;
  gets: Array<{ authorized: boolean; routeId: string | null }>;
  weights: { stable: number; canary: number };
  failNext: number;
  close(): Promise<void>;
}

export async function startTrafficReceiver(token: string): Promise<TrafficReceiver> {
  const r: Omit<TrafficReceiver, 'url' | 'close'> = { puts: [], gets: [], weights: { stable: 100, canary: 0 }, failNext: 0 };
  let backends: { stable: unknown[]; canary: unknown[] } = { stable: [], canary: [] };
  let match: unknown = null;
  const answer = () => JSON.stringify({ stable: { weight: r.weights.stable, backends: backends.stable }, canary: { weight: r.weights.canary, backends: backends.canary }, match });
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const body = req.method === 'PUT' ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
    if (req.method === 'PUT') r.puts.push({ authorized, body });
    else r.gets.push({ authorized, routeId: new URL(req.url ?? '/', 'http://x').searchParams.get('routeId') });
    if (!authorized) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad token"}');
    if (req.method === 'PUT' && r.failNext > 0) {
      r.failNext--;
      return res.writeHead(503).end('busy');
    }
    if (req.method === 'PUT') {
      r.weights = { stable: body.stable.weight, canary: body.canary.weight };
      backends = { stable: body.stable.backends, canary: body.canary.backends };
      match = body.match;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/weights`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/**
 * A server answering Prometheus's instant-query API (/api/v1/query) only to
 * the expected bearer token: request counts (increase) are 100 for both
 * variants, the metric is `canaryValue` for queries naming the canary's
 * version and `stableValue` for the rest.
 */
export interface PromQlServer {
  url: string;
  canaryValue: number;
  stableValue: number;
  queries: Array<{ authorized: boolean; query: string }>;
  close(): Promise<void>;
}

export async function startPromQlServer(token: string, canaryVersion: string): Promise<PromQlServer> {
  const p: Omit<PromQlServer, 'url' | 'close'> = { canaryValue: 0, stableValue: 0, queries: [] };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = url.searchParams.get('query') ?? '';
    const authorized = req.headers.authorization === `Bearer ${token}`;
    p.queries.push({ authorized, query });
    if (!authorized) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"status":"error","error":"unauthorized"}');
    if (url.pathname !== '/api/v1/query') return res.writeHead(404).end();
    const value = query.includes('increase(') ? 100 : query.includes(`version="${canaryVersion}"`) ? p.canaryValue : p.stableValue;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, String(value)] }] } }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(Object.assign(p, { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((done) => server.close(() => done())) }));
    }),
  );
}

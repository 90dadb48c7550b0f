import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server for template runs' http steps: each path says what it
 * does, and the server counts what reached it (calls per key, requests in
 * flight at once, requests the caller gave up on).
 */
export interface StepServer {
  url: string;
  calls: Map<string, number>;
  /** The most requests of a key in flight at once. */
  peak: Map<string, number>;
  /** Requests whose caller went away before the answer (a cancelled or timed-out step). */
  aborted: Map<string, number>;
  bodies: Map<string, unknown[]>;
  close(): Promise<void>;
}

export async function startStepServer(): Promise<StepServer> {
  const calls = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const peak = new Map<string, number>();
  const aborted = new Map<string, number>();
  const bodies = new Map<string, unknown[]>();
  const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, kind, key = 'default'] = url.pathname.split('/');
    const body = await readBody(req);
    const n = bump(calls, key).get(key)!;
    (bodies.get(key) ?? bodies.set(key, []).get(key)!).push(body);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const query = Object.fromEntries(url.searchParams);
    switch (kind) {
      case 'echo':
        return json(200, { key, n, query, body });
      case 'flaky':
        // Fails the first `fail` calls of the key.
        return n <= Number(query.fail ?? 1) ? json(503, { error: 'not yet', n }) : json(200, { key, n });
      case 'fail':
        return json(500, { error: 'always fails' });
      case 'slow': {
        bump(inFlight, key);
        peak.set(key, Math.max(peak.get(key) ?? 0, inFlight.get(key)!));
        setTimeout(() => {
          bump(inFlight, key, -1);
          json(200, { key, n, item: query.item ?? null });
        }, Number(query.ms ?? 100));
        return;
      }
      case 'hang':
        // Never answers: only the caller ends it.
        req.socket.on('close', () => bump(aborted, key));
        return;
      default:
        return json(404, { error: 'no such path' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    peak,
    aborted,
    bodies,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

import WebSocket from 'ws';
import { until } from './eventually';

/** A live stream (a job's, an agent's, a run's) as a test reads it over a real WebSocket. */
export interface Stream {
  messages: any[];
  closed?: { code: number; reason: string };
  /** The first message (from the start) that `match` accepts and no earlier call took. */
  next(match: (m: any) => boolean, what: string): Promise<any>;
  waitClosed(): Promise<{ code: number; reason: string }>;
  close(): void;
  /** The client's socket: a test pauses it to play a client that stopped reading. */
  ws: WebSocket;
}

/** Opens a stream under /api/v1 of the app at `baseUrl`; rejects with the HTTP status when the upgrade is refused. */
export function connectStream(baseUrl: string, path: string, options: { token?: string; query?: string } = {}): Promise<Stream> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1${path}${options.query ? `?${options.query}` : ''}`;
  const ws = new WebSocket(url, { headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });
  const taken = new Set<number>();
  const stream: Stream = {
    messages: [],
    async next(match, what) {
      return until(what, () => {
        const i = stream.messages.findIndex((m, n) => !taken.has(n) && match(m));
        if (i < 0) return undefined;
        taken.add(i);
        return stream.messages[i];
      }, 10_000, 20);
    },
    waitClosed: () => until('the stream to close', () => stream.closed, 10_000, 20),
    close: () => ws.close(),
    ws,
  };
  ws.on('message', (data) => stream.messages.push(JSON.parse(String(data))));
  ws.on('close', (code, reason) => (stream.closed = { code, reason: String(reason) }));
  return opened(ws).then(() => stream);
}

/** Resolves when the socket opens; rejects with the HTTP status when the upgrade is refused. */
export function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

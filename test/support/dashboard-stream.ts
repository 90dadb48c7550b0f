import WebSocket from 'ws';
import type { Pool } from '../../platform/db';
import { until } from './eventually';
import { opened } from './live-stream';

/** The dashboard stream as a test reads it: every message in arrival order, the raw socket to pause or write to. */
export interface DashboardClient {
  ws: WebSocket;
  messages: any[];
  events(): any[];
  closed?: { code: number; reason: string };
  ready(): Promise<any>;
  /** Waits for events (in arrival order) until `match` accepts one, and returns it. */
  event(match: (e: any) => boolean, what: string, timeoutMs?: number): Promise<any>;
  waitClosed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openDashboard(baseUrl: string, options: { token?: string; query?: string; headers?: Record<string, string> } = {}): Promise<DashboardClient> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/dashboard/stream${options.query ? `?${options.query}` : ''}`;
  const ws = new WebSocket(url, { headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers } });
  const client: DashboardClient = {
    ws,
    messages: [],
    events: () => client.messages.filter((m) => m.type === 'event'),
    ready: () => until('the stream to be ready', () => client.messages.find((m) => m.type === 'ready'), 15_000, 20),
    event: (match, what, timeoutMs = 20_000) => until(what, () => client.events().find(match), timeoutMs, 20),
    waitClosed: (timeoutMs = 20_000) => until('the stream to close', () => client.closed, timeoutMs, 20),
    close: () => ws.close(),
  };
  ws.on('message', (data) => client.messages.push(JSON.parse(String(data))));
  ws.on('close', (code, reason) => (client.closed = { code, reason: String(reason) }));
  return opened(ws).then(() => client);
}

/** Records a dashboard event the way the triggers of migration 024 do (one transaction each unless `count` > 1). */
export async function emit(pool: Pool, tenantId: string, count = 1, data: Record<string, unknown> = {}): Promise<void> {
  await pool.query(
    `SELECT dashboard_emit($1, 'promotion.status', 'promotion', 'p-' || n, $2::jsonb || jsonb_build_object('n', n)) FROM generate_series(1, $3) AS n`,
    [tenantId, JSON.stringify(data), count],
  );
}

import type { WebSocket } from 'ws';
import { StreamSocket } from '../../realtime/stream-socket';

/**
 * Close code for a client too slow to keep up: its socket stayed more than the
 * bound behind for the stall timeout. Nothing is lost by it: the client
 * reconnects with the last id it received and gets everything after it.
 */
export const SLOW_CLIENT_CLOSE = 4008;
const DRAIN_POLL_MS = 25;

export interface SlowClientBound {
  /** Bytes handed to the socket and not yet sent, above which the stream sends nothing more. */
  maxBuffered: number;
  /** How long the stream waits for the client to get back under the bound before closing it. */
  stallTimeoutMs: number;
}

/**
 * The dashboard's socket. Events wait in Postgres, not in memory: while more
 * than `maxBuffered` bytes sit unsent, the stream reads and sends nothing, and
 * a client that stays behind for `stallTimeoutMs` (it stopped reading) is
 * closed with 4008. What the server holds per client stays under the bound
 * plus one message, however many events come.
 */
export class DashboardSocket extends StreamSocket {
  private slow = false;

  constructor(
    private readonly raw: WebSocket,
    private readonly bound: SlowClientBound,
    private readonly onSlow: () => void,
  ) {
    super(raw);
  }

  override async send(message: unknown): Promise<void> {
    const behindSince = Date.now();
    while (this.open && this.raw.bufferedAmount > this.bound.maxBuffered) {
      if (Date.now() - behindSince >= this.bound.stallTimeoutMs) {
        this.dropSlowClient();
        return;
      }
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
    if (this.open) this.raw.send(JSON.stringify(message));
  }

  private dropSlowClient(): void {
    if (this.slow) return;
    this.slow = true;
    this.close(SLOW_CLIENT_CLOSE, `SLOW_CLIENT: more than ${this.bound.maxBuffered} bytes unsent for ${this.bound.stallTimeoutMs} ms; reconnect with lastEventId`);
    this.onSlow();
  }
}

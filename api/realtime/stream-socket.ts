import type { WebSocket } from 'ws';

/**
 * One live stream's WebSocket: JSON messages, a ping every 30 s (a peer that
 * has not answered the previous ping by then is cut off, so a vanished client
 * does not hold its subscription forever), and back-pressure: while more than
 * `maxBuffered` bytes sit unsent the stream reads and sends nothing, and a
 * client that stays that far behind for `stallTimeoutMs` (it stopped reading)
 * is closed with 4008. Every stream starts again from a snapshot or a
 * last-event id, so closing a slow client loses nothing, and what the server
 * holds per client stays under the bound plus one message.
 */
export const PING_INTERVAL_MS = 30_000;

/** Close code for a client too slow to keep up; it reconnects (and resumes where the stream allows it). */
export const SLOW_CLIENT_CLOSE = 4008;
const DRAIN_POLL_MS = 25;

export interface SlowClientBound {
  /** Bytes handed to the socket and not yet sent, above which the stream sends nothing more. */
  maxBuffered: number;
  /** How long the stream waits for the client to get back under the bound before closing it. */
  stallTimeoutMs: number;
}

export interface StreamSocketOptions {
  bound: SlowClientBound;
  /** What the reconnecting client should do, said in the close reason ("reconnect with lastEventId"). */
  resumeHint?: string;
  /** Called once when the socket is closed for being slow (the stream stops reading). */
  onSlow?: () => void;
  pingIntervalMs?: number;
}

/** The bound every live stream holds its clients to (STREAM_MAX_BUFFERED, STREAM_STALL_TIMEOUT). */
export function streamBound(config: { STREAM_MAX_BUFFERED: number; STREAM_STALL_TIMEOUT: number }): SlowClientBound {
  return { maxBuffered: config.STREAM_MAX_BUFFERED, stallTimeoutMs: config.STREAM_STALL_TIMEOUT };
}

export class StreamSocket {
  private readonly ping: NodeJS.Timeout;
  private alive = true;
  private slow = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: StreamSocketOptions,
  ) {
    ws.on('pong', () => {
      this.alive = true;
    });
    this.ping = setInterval(() => {
      if (!this.open) return;
      if (!this.alive) {
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, options.pingIntervalMs ?? PING_INTERVAL_MS);
    this.ping.unref();
    ws.once('close', () => clearInterval(this.ping));
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  // Not awaiting ws.send's callback: it fires only once the kernel takes the bytes, so a client that stopped
  // reading would hold the stream there, below the bound, with no stall timeout running.
  async send(message: unknown): Promise<void> {
    const { maxBuffered, stallTimeoutMs } = this.options.bound;
    const behindSince = Date.now();
    while (this.open && this.ws.bufferedAmount > maxBuffered) {
      if (Date.now() - behindSince >= stallTimeoutMs) {
        this.dropSlowClient();
        return;
      }
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
    if (this.open) this.ws.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    clearInterval(this.ping);
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  private dropSlowClient(): void {
    if (this.slow) return;
    this.slow = true;
    const { maxBuffered, stallTimeoutMs } = this.options.bound;
    this.close(SLOW_CLIENT_CLOSE, `SLOW_CLIENT: more than ${maxBuffered} bytes unsent for ${stallTimeoutMs} ms; ${this.options.resumeHint ?? 'reconnect'}`);
    this.options.onSlow?.();
  }
}

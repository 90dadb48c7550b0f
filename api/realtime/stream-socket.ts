import type { WebSocket } from 'ws';

/**
 * One live stream's WebSocket: JSON messages, a ping every 30 s (a peer that
 * has not answered the previous ping by then is cut off, so a vanished client
 * does not hold its subscription forever), and back-pressure: a sender waits
 * while the client is behind instead of buffering without bound.
 */
export const PING_INTERVAL_MS = 30_000;
/** Above this many bytes waiting to go out, send() waits for the client to catch up. */
const HIGH_WATER_BYTES = 1 << 20;
const DRAIN_POLL_MS = 25;

export class StreamSocket {
  private readonly ping: NodeJS.Timeout;
  private alive = true;

  constructor(private readonly ws: WebSocket, pingIntervalMs = PING_INTERVAL_MS) {
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
    }, pingIntervalMs);
    this.ping.unref();
    ws.once('close', () => clearInterval(this.ping));
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  async send(message: unknown): Promise<void> {
    while (this.open && this.ws.bufferedAmount > HIGH_WATER_BYTES) await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    if (!this.open) return;
    await new Promise<void>((resolve) => this.ws.send(JSON.stringify(message), () => resolve()));
  }

  close(code: number, reason: string): void {
    clearInterval(this.ping);
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }
}

import { AgentApiError, type AgentApiClient } from '../runtime/api-client';
import { retryTransient } from '../runtime/retry';

export interface LogShipperOptions {
  api: Pick<AgentApiClient, 'appendLog'>;
  taskId: string;
  /**
   * The task's cap. The API keeps the head and a rolling tail of that size (with a marker where it dropped text), so
   * the agent sends to the very end — its outcome lines are the last — but once capped sends at most the newest half
   * cap of what piled up since the last chunk, and never holds more than a cap of unsent text.
   */
  capBytes: number;
  /** How often pending output is sent while the task runs (default 500 ms). */
  intervalMs?: number;
  /** How long the last chunk may keep retrying an unreachable API (default 15 s). */
  finalRetryMs?: number;
  /** Told once when shipping stops for good (the API refused a chunk for a reason retrying cannot fix). */
  onGiveUp?: (error: unknown) => void;
}

/** Largest chunk per request: far under the API's body limit even when every character needs a JSON escape. */
const MAX_CHUNK = 64 * 1024;
/** Confirmed text kept for a resend. */
const KEEP_CONFIRMED = 2 * MAX_CHUNK;

/**
 * Streams a task's output to the API in chunks addressed by character offset. The API keeps what it has and
 * appends only what is new, so a chunk re-sent after a lost answer lands once; when the agent got ahead of it
 * (LOG_OFFSET_GAP) the shipper resends from the size the API names.
 */
export class LogShipper {
  /** Text from `base` onward not yet confirmed by the API (what it confirmed is let go). */
  private text = '';
  /** The API's offset of text[0]: every character it received before it (this task's earlier attempts included). */
  private base = 0;
  /** Characters of `text` the API confirmed. */
  private sent = 0;
  private capped = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;
  private lastSize = 0;

  constructor(private readonly options: LogShipperOptions) {
    this.intervalMs = options.intervalMs ?? 500;
  }

  /** Learns how much of this task's log the API already has (a retried task continues it), then ships on a timer. */
  async start(): Promise<void> {
    try {
      const answer = await retryTransient(() => this.options.api.appendLog(this.options.taskId, { offset: 0, data: '' }), { deadline: Date.now() + 5_000 });
      this.base = answer.size;
      this.capped = answer.capped;
    } catch (error) {
      const size = gapSize(error);
      if (size !== undefined) this.base = size;
      // Otherwise start from zero: the API appends only what is new, so nothing is stored twice.
    }
    this.lastSize = this.base;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  write(raw: string): void {
    if (!raw || this.stopped) return;
    this.text += storable(raw);
    // An API that does not keep up (away, slow): hold at most a cap of unsent text, dropping the oldest of what no
    // chunk in flight can be carrying. The API counts only what it receives, so offsets stay in step.
    const pending = this.text.length - this.sent;
    if (pending > Math.max(this.options.capBytes, MAX_CHUNK) + MAX_CHUNK) this.drop(this.sent + MAX_CHUNK, pending - this.options.capBytes - MAX_CHUNK);
  }

  line(text: string): void {
    this.write(`${text}\n`);
  }

  /** Sends what is pending; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.sendPending()).then(
      () => undefined,
      (error) => this.giveUp(error),
    );
    return this.chain;
  }

  /**
   * Stops the timer and sends the rest, retrying an unreachable API for a while. A cancelled hook's `stop` line
   * ends the log and carries `stoppedBy`, so the API records how it ended; that chunk is sent even past the cap.
   */
  async close(stop?: { signal: 'SIGTERM' | 'SIGKILL'; line: string }): Promise<{ size: number; capped: boolean }> {
    clearInterval(this.timer);
    await this.chain;
    if (this.stopped) return { size: this.lastSize, capped: this.capped };
    const deadline = Date.now() + (this.options.finalRetryMs ?? 15_000);
    try {
      if (stop) this.line(stop.line);
      const stopSent = await this.sendPending(deadline, stop?.signal);
      if (stop && !stopSent) {
        const body = { offset: this.lastSize, data: `${stop.line}\n`, stoppedBy: stop.signal };
        await retryTransient(() => this.options.api.appendLog(this.options.taskId, body), { deadline }).catch((error) => {
          if (gapSize(error) === undefined) throw error;
        });
      }
    } catch (error) {
      this.giveUp(error);
    }
    this.stopped = true;
    return { size: this.lastSize, capped: this.capped };
  }

  /** Sends pending text chunk by chunk; answers whether the chunk carrying `stoppedBy` went out. */
  private async sendPending(deadline?: number, stoppedBy?: 'SIGTERM' | 'SIGKILL'): Promise<boolean> {
    let gaps = 0;
    // Past the cap the API keeps only a tail of half the cap: older pending text would only be rolled out again.
    const tail = Math.floor(this.options.capBytes / 2);
    if (this.capped && this.text.length - this.sent > tail + MAX_CHUNK) this.drop(this.sent, this.text.length - this.sent - tail);
    while (!this.stopped && this.sent < this.text.length) {
      let end = Math.min(this.text.length, this.sent + MAX_CHUNK);
      // Never split a surrogate pair between two chunks.
      if (end < this.text.length && isHighSurrogate(this.text.charCodeAt(end - 1))) end -= 1;
      const last = end >= this.text.length;
      const body = { offset: this.base + this.sent, data: this.text.slice(this.sent, end), ...(stoppedBy && last ? { stoppedBy } : {}) };
      try {
        const answer = deadline
          ? await retryTransient(() => this.options.api.appendLog(this.options.taskId, body), { deadline })
          : await this.options.api.appendLog(this.options.taskId, body);
        const confirmed = this.accept(answer.size, end);
        this.capped = answer.capped;
        if (stoppedBy && last) return true;
        // The API took none of it without saying why: try again on the next tick, not in a loop.
        if (confirmed === 0) return false;
      } catch (error) {
        const size = gapSize(error);
        if (size !== undefined && ++gaps <= 5) {
          this.resendFrom(size);
          continue;
        }
        if (error instanceof AgentApiError && error.transient && !deadline) return false;
        throw error;
      }
    }
    return false;
  }

  /** Records what the API now holds; answers how many more characters it confirmed. */
  private accept(size: number, end: number): number {
    this.lastSize = size;
    const before = this.sent;
    this.sent = Math.max(this.sent, Math.min(end, size - this.base));
    const confirmed = this.sent - before;
    // What the API confirmed is its to keep: let all but the newest of it go, so a long-running hook's log never
    // piles up here; the newest stays, to be sent again should the API say it holds less (LOG_OFFSET_GAP).
    let excess = this.sent - KEEP_CONFIRMED;
    // Never keep half a pair: a resend from the kept text would open with its low half.
    if (excess > 0 && isHighSurrogate(this.text.charCodeAt(excess - 1))) excess -= 1;
    if (excess > 0) {
      this.text = this.text.slice(excess);
      this.base += excess;
      this.sent -= excess;
    }
    return confirmed;
  }

  /** Drops `count` unsent characters from `at`, leaving a line that says so; never half a surrogate pair. */
  private drop(at: number, count: number) {
    let end = at + count;
    if (isHighSurrogate(this.text.charCodeAt(end - 1))) end += 1;
    if (at > this.sent && isHighSurrogate(this.text.charCodeAt(at - 1))) at -= 1;
    const marker = `\n[tollgate] … ${end - at} characters of output dropped by the agent (the log is over its cap) …\n`;
    this.text = this.text.slice(0, at) + marker + this.text.slice(end);
  }

  private resendFrom(size: number) {
    this.lastSize = size;
    if (size < this.base) {
      // The API holds less than it confirmed: what this agent still holds goes after what it has.
      this.base = size;
      this.sent = 0;
    } else {
      this.sent = Math.min(size - this.base, this.text.length);
    }
  }

  private giveUp(error: unknown) {
    this.stopped = true;
    clearInterval(this.timer);
    this.options.onGiveUp?.(error);
  }
}

function gapSize(error: unknown): number | undefined {
  if (!(error instanceof AgentApiError) || error.code !== 'LOG_OFFSET_GAP') return undefined;
  const size = error.details?.size;
  return typeof size === 'number' && size >= 0 ? size : undefined;
}

/**
 * The API stores text, not bytes: a NUL or a half surrogate pair would have it refuse the whole chunk. Hook output
 * is decoded as UTF-8 (bad bytes already became U+FFFD); this covers a NUL and anything else that slipped through.
 */
const storable = (text: string) => text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Waiting for state that becomes visible some time after the action that causes
 * it: a search attribute upserted by the workflow task after the one that wrote
 * the row, a visibility list, a timer, a process's output or port, a log line.
 * Both helpers poll with a deadline; a single read or a fixed sleep is a flaky test.
 */

export interface PollOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 200 ms). */
  intervalMs?: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Re-runs `check` (typically a few `expect`s over a fresh read) until it stops
 * throwing, and returns its value. At the deadline the last failure is thrown,
 * so the test reports what was last seen rather than a bare timeout.
 */
export async function eventually<T>(check: () => Promise<T> | T, options: PollOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 200 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) {
        if (error instanceof Error) error.message = `still failing after ${timeoutMs} ms: ${error.message}`;
        throw error;
      }
    }
    await pause(intervalMs);
  }
}

/** Polls `read` until it returns something truthy, and returns that; `what` names the wait in the timeout error. */
export async function until<T>(what: string, read: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(intervalMs);
  }
}

import { AgentApiError } from './api-client';

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (a cancelled task stops waiting). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** Epoch ms after which the last transient error is thrown instead of retried. */
  deadline?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (error: AgentApiError, attempt: number, delayMs: number) => void;
}

/**
 * Calls the API until it answers: transient failures (unreachable, 5xx, 429, 408) are retried with a doubling
 * pause (or the API's Retry-After), until the deadline or the signal ends it. Any other answer is thrown at once.
 */
export async function retryTransient<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, deadline = Infinity, initialDelayMs = 250, maxDelayMs = 5_000 } = options;
  let delay = initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof AgentApiError) || !error.transient) throw error;
      const wait = Math.min(Math.max(error.retryAfterMs ?? delay, delay), maxDelayMs);
      if (Date.now() + wait > deadline) throw error;
      options.onRetry?.(error, attempt, wait);
      await pause(wait, signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}

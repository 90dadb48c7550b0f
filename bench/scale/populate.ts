import { RetryStats, sendKeyed, type RetryPolicy } from '../faults/client';

const DAY = 24 * 3600_000;
const HOUR = 3600_000;
const POLICY: RetryPolicy = { deadlineMs: 120_000, attemptTimeoutMs: 60_000 };

export interface PopulateProgress {
  done: number;
  seconds: number;
}

/**
 * Creates changes `from`..`to-1` and submits each: a standard change is then
 * scheduled, its workflow open and asleep on the timer of a window that opens
 * days from now. Keyed and retried like any careful client; the first request
 * that fails for good stops the run.
 */
export async function populate(options: {
  api: string;
  token: string;
  from: number;
  to: number;
  concurrency: number;
  runTag: string;
  onProgress?: (p: PopulateProgress) => void;
}): Promise<{ seconds: number; perSecond: number; retried: number }> {
  const stats = new RetryStats();
  const base = `${options.api}/prod/api/changes`;
  // Windows spread over the coming weeks, a few minutes apart, so the timers are many and distinct.
  const windowStart = Date.now() + 7 * DAY;
  let next = options.from;
  let done = 0;
  let failed: Error | undefined;
  const t0 = performance.now();
  const lane = async () => {
    while (!failed && next < options.to) {
      const i = next++;
      const start = new Date(windowStart + i * 3 * 60_000).toISOString();
      const end = new Date(windowStart + i * 3 * 60_000 + HOUR).toISOString();
      const body = {
        type: 'standard',
        short_description: `Scale drill ${i}: rotate the logs of build agent ${i}`,
        implementation_plan: '1. Run the logrotate job\n2. Confirm disk usage dropped',
        backout_plan: 'Restore the archived log files from the backup bucket',
        test_plan: 'Check the agent reports healthy and disk usage is below 70%',
        scheduled_start: start,
        scheduled_end: end,
      };
      const key = `${options.runTag}-${i}`;
      const created = await sendKeyed(base, { method: 'POST', path: '', token: options.token, key: `${key}-create`, body }, POLICY, stats);
      if (created.kind !== 'ack') {
        failed = new Error(`create #${i}: ${created.kind === 'refused' ? `${created.status} ${created.text}` : created.last}`);
        return;
      }
      const submitted = await sendKeyed(base, { method: 'POST', path: `/${created.body.id}/submit`, token: options.token, key: `${key}-submit` }, POLICY, stats);
      if (submitted.kind !== 'ack' || submitted.body.state !== 'scheduled') {
        failed = new Error(`submit #${i}: ${submitted.kind === 'ack' ? `state ${submitted.body.state}` : submitted.kind === 'refused' ? `${submitted.status} ${submitted.text}` : submitted.last}`);
        return;
      }
      done++;
    }
  };
  const ticker = setInterval(() => options.onProgress?.({ done, seconds: (performance.now() - t0) / 1000 }), 10_000);
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.to - options.from)) }, lane));
  } finally {
    clearInterval(ticker);
  }
  if (failed) throw failed;
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, perSecond: (options.to - options.from) / seconds, retried: stats.retried };
}

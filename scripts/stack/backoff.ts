/**
 * When `npm start` restarts a dead service: quickly the first time (a killed
 * process is usually fine to start again at once), then doubling while it
 * keeps dying young, so a service that cannot start does not spin the CPU.
 */
export interface RestartPolicy {
  initialMs: number;
  maxMs: number;
  /** A run at least this long counts as healthy: the next failure starts the back-off over. */
  stableAfterMs: number;
}

export const RESTART_POLICY: RestartPolicy = { initialMs: 500, maxMs: 15_000, stableAfterMs: 30_000 };

/** The delay before the next start, given how many failures in a row preceded it (1 = the first). */
export function restartDelay(failures: number, policy: RestartPolicy = RESTART_POLICY): number {
  const n = Math.max(1, Math.floor(failures));
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(n - 1, 30));
}

/** Failures in a row after one more: a run that lasted `ranMs` either continues the streak or ends it. */
export function failuresAfter(previous: number, ranMs: number, policy: RestartPolicy = RESTART_POLICY): number {
  return ranMs >= policy.stableAfterMs ? 1 : previous + 1;
}

import type { RolloutState } from './model';

/**
 * created → running ⇄ paused → completed | aborted | failed, and `retry` takes
 * an aborted or failed rollout back to running from its first step. A
 * rollback of one not yet started aborts it without touching traffic.
 */
export const ROLLOUT_TRANSITIONS: Readonly<Record<RolloutState, readonly RolloutState[]>> = {
  created: ['running', 'aborted'],
  running: ['paused', 'completed', 'aborted', 'failed'],
  paused: ['running', 'completed', 'aborted', 'failed'],
  aborted: ['running'],
  failed: ['running', 'aborted'],
  completed: [],
};

/** One rollout at a time moves an environment's traffic: these hold it. */
export const IN_FLIGHT: readonly RolloutState[] = ['running', 'paused'];

export function canMove(from: RolloutState, to: RolloutState): boolean {
  return ROLLOUT_TRANSITIONS[from].includes(to);
}

export function isFinished(state: RolloutState): boolean {
  return ROLLOUT_TRANSITIONS[state].length === 0;
}

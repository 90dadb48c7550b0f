/** What the step reads of a rollout (the rollouts module's row; domain/templates names no other module). */
export interface RolloutSeen {
  id: string;
  name: string;
  state: string;
  abortReason: string | null;
}

/**
 * What a template's `rollout` step does with its rollout, read from the
 * rollout as its row stands: start one that was only created, wait while it
 * runs or is paused, and end with its outcome (completed succeeds; aborted,
 * which a rollback ends in, and failed fail the step).
 */
export type RolloutStepMove =
  | { kind: 'start' }
  | { kind: 'wait' }
  | { kind: 'succeeded' }
  | { kind: 'failed'; code: 'ROLLOUT_ABORTED' | 'ROLLOUT_FAILED'; message: string };

export function rolloutStepMove(r: RolloutSeen): RolloutStepMove {
  switch (r.state) {
    case 'created':
      return { kind: 'start' };
    case 'running':
    case 'paused':
      return { kind: 'wait' };
    case 'completed':
      return { kind: 'succeeded' };
    case 'aborted':
    case 'failed': {
      const code = r.state === 'aborted' ? 'ROLLOUT_ABORTED' : 'ROLLOUT_FAILED';
      return { kind: 'failed', code, message: `Rollout ${r.id} (${r.name}) ended ${r.state}${r.abortReason ? `: ${r.abortReason}` : ''}` };
    }
    default:
      return { kind: 'wait' };
  }
}

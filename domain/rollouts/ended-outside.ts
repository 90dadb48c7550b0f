import { endingText, type WorkflowEnding } from '../workflow-endings';
import type { EntityEvent } from '../draft';
import { HISTORY_KEPT, type Rollout, type RolloutState } from './model';

/** A rollout in one of these states has a run that should be driving it. */
const LIVE: readonly RolloutState[] = ['created', 'running', 'paused'];

export function rolloutLive(r: Rollout): boolean {
  return LIVE.includes(r.state);
}

/**
 * What the rollout workflow's own loop treats as traffic not known to be on
 * stable (it puts it back whenever an aborted or failed rollout looks like this).
 */
export function trafficNeedsRestore(r: Rollout): boolean {
  return r.plan !== null && r.state !== 'completed' && (r.canaryWeight !== 0 || r.activeMatch !== null || r.traffic === null);
}

/**
 * A rollout whose workflow ended outside Tollgate is `aborted` (cancelled in
 * Temporal) or `failed` (terminated, failed, timed out), with the ending as its
 * reason. Whatever it had asked the router for, nobody drives the router now:
 * the last read-back is dropped (the audit event keeps it), so the run started
 * after the mark sees traffic not known to be on stable and puts it back.
 */
export function markRolloutEnded(r: Rollout, ending: WorkflowEnding, now: string): { next: Rollout; events: EntityEvent[] } | null {
  if (!rolloutLive(r)) return null;
  const state: RolloutState = ending.how === 'cancelled' ? 'aborted' : 'failed';
  const reason = endingText(ending);
  const restoring = r.plan !== null;
  const entry = {
    at: now,
    action: 'rollout.workflow_ended_outside',
    by: ending.by,
    reason: restoring ? `${reason}; traffic goes back to stable through the router's agent` : reason,
    stepIndex: r.stepIndex,
    canaryWeight: r.canaryWeight,
  };
  const next: Rollout = {
    ...r,
    state,
    abortReason: reason,
    pausedReason: null,
    analysis: null,
    traffic: restoring ? null : r.traffic,
    history: [...r.history, entry].slice(-HISTORY_KEPT),
    updatedAt: now,
    version: r.version + 1,
  };
  const event: EntityEvent = {
    action: 'rollout.workflow_ended_outside',
    before: { state: r.state, version: r.version, canaryWeight: r.canaryWeight, activeMatch: r.activeMatch, traffic: r.traffic },
    after: { state, version: next.version, abortReason: reason, workflow: ending },
  };
  return { next, events: [event] };
}

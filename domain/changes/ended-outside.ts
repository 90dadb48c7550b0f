import { endingText, type WorkflowEnding } from '../workflow-endings';
import type { EntityEvent } from '../draft';
import type { Change, ChangeState } from './model';
import { isTerminal } from './state-machine';

/**
 * A change whose workflow ended outside Tollgate becomes `cancelled` whichever
 * way it ended: `failed` here means the implementation failed and waits for a
 * post-implementation review, which a run that is gone cannot take, and
 * `cancelled` is the one terminal state that claims nothing about the work.
 */
export function markChangeEnded(change: Change, ending: WorkflowEnding, now: string): { next: Change; events: EntityEvent[] } | null {
  if (isTerminal(change.state)) return null;
  const next: Change = { ...change, state: 'cancelled', cancelled_at: ending.at, updated_at: now, version: change.version + 1 };
  const event: EntityEvent = {
    action: 'change.workflow_ended_outside',
    before: { state: change.state, version: change.version },
    after: { state: next.state, version: next.version, reason: endingText(ending), workflow: ending },
  };
  return { next, events: [event] };
}

/**
 * The change workflow only keeps the record and its deadlines (every deadline is
 * computed from the row), so a new run can take over from any live state.
 */
export function changeResumable(state: ChangeState): boolean {
  return !isTerminal(state);
}

export function resumeChange(marked: Change, previous: ChangeState, now: string): { next: Change; events: EntityEvent[] } {
  const next: Change = { ...marked, state: previous, cancelled_at: null, updated_at: now, version: marked.version + 1 };
  return { next, events: [{ action: 'change.reconcile', before: { state: marked.state, version: marked.version }, after: { state: previous, version: next.version } }] };
}

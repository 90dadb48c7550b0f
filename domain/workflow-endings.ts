/**
 * A record's workflow that ended without Tollgate ending it: an operator's
 * Cancel or Terminate in the Temporal UI or CLI, a failure, a run timeout. Its
 * row still shows a live state, so Tollgate marks the row (each module's
 * ended-outside.ts says how) and tells whoever sends the next command.
 */

export const ENDED_HOW = ['cancelled', 'terminated', 'failed', 'timed_out'] as const;
export type EndedHow = (typeof ENDED_HOW)[number];

export interface WorkflowEnding {
  how: EndedHow;
  /** The identity Temporal recorded for the cancel or terminate request (`temporal` when the server or the code ended it). */
  by: string;
  reason: string | null;
  /** When the run closed (ISO 8601). */
  at: string;
  runId: string;
}

/** Who the audit log names when Temporal reports no identity (a failure, a timeout). */
export const TEMPORAL_ACTOR = 'temporal';

/** The audit action of the mark, per resource type (`change.workflow_ended_outside`, …). */
export const ENDED_OUTSIDE_ACTION = 'workflow_ended_outside';
export const RECONCILE_ACTION = 'reconcile';

const VERB: Record<EndedHow, string> = { cancelled: 'cancelled', terminated: 'terminated', failed: 'failed', timed_out: 'timed out' };

/** One line an operator reads on the record, in the audit log and in the 409. */
export function endingText(ending: WorkflowEnding): string {
  const who = ending.how === 'cancelled' || ending.how === 'terminated' ? ` by ${ending.by}` : '';
  return `workflow ${VERB[ending.how]} outside Tollgate${who} at ${ending.at}${ending.reason ? `: ${ending.reason}` : ''}`;
}

/**
 * Whether reconcile may start a new run from the row: only when the record was
 * not decided by the ending (a Temporal Cancel is the record's cancellation, as
 * Tollgate's own cancel would be) and the module says its last state is safe to
 * resume from the read model.
 */
export function reconcileRefusal(ending: WorkflowEnding, resumable: boolean, previousState: string, noun: string, instead: string): string | null {
  if (ending.how === 'cancelled') return `its workflow was cancelled in Temporal by ${ending.by}, which cancels the ${noun} for good; ${instead}`;
  if (!resumable) return `it was ${previousState} when its workflow ended, and a new run cannot safely take over from there; ${instead}`;
  return null;
}

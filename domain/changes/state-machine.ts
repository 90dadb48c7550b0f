import { CHANGE_STATES, type Change, type ChangeState, type ChangeType } from './model';

/**
 * The change state machine exactly as the StackFlow spec draws it:
 *   draft → submitted → cab_review → scheduled → in_progress → completed → closed
 *   draft → cancelled;  cab_review → rejected → draft (revision);  in_progress → failed → post_review
 * plus what the types imply: standard and emergency changes go submitted → scheduled
 * without CAB, and a post-implementation review closes post_review.
 */
export const TRANSITIONS: Readonly<Record<ChangeState, readonly ChangeState[]>> = {
  draft: ['submitted', 'cancelled'],
  submitted: ['cab_review', 'scheduled'],
  cab_review: ['scheduled', 'rejected'],
  rejected: ['draft'],
  scheduled: ['in_progress'],
  in_progress: ['completed', 'failed'],
  completed: ['closed'],
  failed: ['post_review'],
  post_review: ['closed'],
  closed: [],
  cancelled: [],
};

/** Type-specific edges: only normal changes pass through CAB; the others are pre-authorised. */
function typeAllows(type: ChangeType, from: ChangeState, to: ChangeState): boolean {
  if (from === 'submitted' && to === 'cab_review') return type === 'normal';
  if (from === 'submitted' && to === 'scheduled') return type !== 'normal';
  return true;
}

export function allowedNextStates(change: Pick<Change, 'state' | 'type'>): ChangeState[] {
  return TRANSITIONS[change.state].filter((to) => typeAllows(change.type, change.state, to));
}

export function canTransition(change: Pick<Change, 'state' | 'type'>, to: ChangeState): boolean {
  return allowedNextStates(change).includes(to);
}

export function isTerminal(state: ChangeState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** Closed and cancelled: the change takes no more commands and its workflow ends. */
export const TERMINAL_STATES: readonly ChangeState[] = CHANGE_STATES.filter(isTerminal);

/** The work is over, successfully or not: the post-implementation review is due, and then the close. */
export const WORK_FINISHED_STATES: readonly ChangeState[] = ['completed', 'failed', 'post_review'];

export function isWorkFinished(state: ChangeState): boolean {
  return WORK_FINISHED_STATES.includes(state);
}

/**
 * States whose maintenance window no longer claims its slot, so it conflicts
 * with no other change: the work is over, the change has ended, or it was
 * rejected (a revision must be approved again before the window counts).
 */
export const WINDOW_RELEASED_STATES: readonly ChangeState[] = [...WORK_FINISHED_STATES, ...TERMINAL_STATES, 'rejected'];

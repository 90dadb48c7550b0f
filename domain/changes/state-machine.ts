import type { Change, ChangeState, ChangeType } from './model';

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

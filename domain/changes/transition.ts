import type { Draft } from '../draft';
import { DomainError } from '../errors';
import type { Change, ChangeState, ChangeType } from './model';
import { allowedNextStates, canTransition } from './state-machine';

/**
 * One move along a change's state machine (state-machine.ts), or the refusal
 * that says where the change stands and where it may go. Every step of every
 * command moves a change through here.
 */

export function transition(draft: Draft<Change>, to: ChangeState, action: string, patch: Partial<Change>): void {
  if (!canTransition(draft.value, to)) {
    throw invalidState(draft.value, `${aChangeOf(draft.value.type)} cannot go from ${draft.value.state} to ${to}`, 'INVALID_STATE_TRANSITION', to);
  }
  draft.apply(action, { ...patch, state: to });
}

export function invalidState(change: Change, message: string, code: string, requested?: ChangeState): DomainError {
  return new DomainError('invalid_state', code, message, {
    current_state: change.state,
    allowed_next_states: allowedNextStates(change),
    ...(requested ? { requested_state: requested } : {}),
  });
}

export function aChangeOf(type: ChangeType): string {
  return `${type === 'emergency' ? 'An' : 'A'} ${type} change`;
}

import type { IncidentState } from './model';

/**
 * The incident state machine exactly as the StackFlow spec draws it:
 *   new → in_progress → resolved → closed;  new → cancelled;
 *   in_progress ⇄ on_hold;  resolved → reopened → in_progress.
 * The API, the bulk job and the SLA clock all read it from here.
 */
export const TRANSITIONS: Readonly<Record<IncidentState, readonly IncidentState[]>> = {
  new: ['in_progress', 'cancelled'],
  in_progress: ['on_hold', 'resolved'],
  on_hold: ['in_progress'],
  resolved: ['closed', 'reopened'],
  reopened: ['in_progress'],
  closed: [],
  cancelled: [],
};

export function allowedNextStates(state: IncidentState): IncidentState[] {
  return [...TRANSITIONS[state]];
}

export function canTransition(from: IncidentState, to: IncidentState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Closed and cancelled incidents take no further edits (notes excepted) and need no SLA clock. */
export function isTerminal(state: IncidentState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** The audit action a transition is recorded under. */
export function transitionAction(from: IncidentState, to: IncidentState): string {
  if (to === 'in_progress') return from === 'on_hold' ? 'incident.resume' : 'incident.start';
  const verbs: Record<Exclude<IncidentState, 'in_progress' | 'new'>, string> = {
    on_hold: 'incident.hold',
    resolved: 'incident.resolve',
    closed: 'incident.close',
    cancelled: 'incident.cancel',
    reopened: 'incident.reopen',
  };
  return to === 'new' ? 'incident.create' : verbs[to];
}

import { identitiesOfActor, type Actor } from '../actor';
import { CAB_PERMISSION, hasPermission } from '../permissions';
import type { Draft } from '../draft';
import { DomainError } from '../errors';
import type { Approval, Change, ChangeSettings, DecideContext } from './model';
import { invalidState, transition } from './transition';

/**
 * The change advisory board: who the approvers are, how far a change under
 * review is from being scheduled, and the approve and reject decisions.
 */

/** How far a change under CAB review is from being scheduled. */

export interface CabProgress {
  approved: number;
  required: number;
  complete: boolean;
  pending_approvers: string[];
}

export function cabProgress(change: Change, settings: ChangeSettings): CabProgress {
  const approvals = change.approvals.filter((a) => a.round === change.cab_round && a.decision === 'approved');
  const approvedIds = new Set(approvals.flatMap((a) => [a.approver.toLowerCase(), a.approver_id.toLowerCase()]));
  const pending = change.cab_approvers.filter((a) => !approvedIds.has(a));
  if (change.cab_quorum != null) {
    return { approved: approvals.length, required: change.cab_quorum, complete: approvals.length >= change.cab_quorum, pending_approvers: pending };
  }
  if (change.cab_approvers.length) {
    return { approved: change.cab_approvers.length - pending.length, required: change.cab_approvers.length, complete: pending.length === 0, pending_approvers: pending };
  }
  return { approved: approvals.length, required: settings.defaultCabQuorum, complete: approvals.length >= settings.defaultCabQuorum, pending_approvers: [] };
}

/**
 * Whose decision the change waits on, as the change resource shows it
 * (`awaiting`): under CAB review, its named approvers who have not decided this
 * round; outside review, nobody. A change that names no approvers waits on any
 * CAB member, whom no list can name: it is empty then too (cab progress and the
 * approval inbox say how many approvals are missing).
 */
export function awaitingDecisions(change: Pick<Change, 'state' | 'approvals' | 'cab_round' | 'cab_approvers'>): string[] {
  if (change.state !== 'cab_review') return [];
  const decided = new Set(change.approvals.filter((a) => a.round === change.cab_round).flatMap((a) => [a.approver.toLowerCase(), a.approver_id.toLowerCase()]));
  return change.cab_approvers.filter((a) => !decided.has(a));
}

/** The change as the API serves it: the record and whose decision it waits on. */
export type ChangeResource = Change & { awaiting: string[] };

export function changeResource(change: Change): ChangeResource {
  return { ...change, awaiting: awaitingDecisions(change) };
}

/** Named in the change's cab_approvers (by email or user id): such a person may decide without the CAB role. */
export function isNamedApprover(change: Pick<Change, 'cab_approvers'>, who: Pick<Actor, 'userId' | 'email'>): boolean {
  const ids = identitiesOfActor(who);
  return change.cab_approvers.some((a) => ids.includes(a));
}

/** The requester, by user id or (case-insensitively) by the name the change records. */
export function isRequester(change: Pick<Change, 'requested_by' | 'requested_by_id'>, who: Pick<Actor, 'userId' | 'email'>): boolean {
  return who.userId === change.requested_by_id || identitiesOfActor(who).includes(change.requested_by.toLowerCase());
}

/**
 * Whether the change waits on this person's decision now: under CAB review, not
 * their own request, not yet decided by them in this round, and theirs to make:
 * named in cab_approvers, or holding the CAB permission when the change names
 * none or counts a quorum (where any CAB member's approval counts).
 */
export function awaitsDecisionFrom(change: Change, actor: Actor): boolean {
  if (change.state !== 'cab_review' || isRequester(change, actor)) return false;
  if (change.approvals.some((a) => a.round === change.cab_round && a.approver_id === actor.userId)) return false;
  if (isNamedApprover(change, actor)) return true;
  return hasPermission(actor, CAB_PERMISSION) && (change.cab_approvers.length === 0 || change.cab_quorum != null);
}

/** Approvers are named by email or user id, case-insensitively, each once. */
export function normaliseApprovers(list: string[] | undefined | null): string[] {
  return [...new Set((list ?? []).map((a) => a.trim().toLowerCase()).filter(Boolean))];
}

function checkApprover(draft: Draft<Change>, actor: Actor): void {
  const change = draft.value;
  if (change.state !== 'cab_review') {
    throw invalidState(change, `Only a change under CAB review can be decided; this change is ${change.state}`, 'NOT_UNDER_REVIEW');
  }
  if (isRequester(change, actor)) {
    throw new DomainError('forbidden', 'SOD_VIOLATION', 'Separation of duties: the requester cannot approve or reject their own change', {
      requested_by: change.requested_by,
    });
  }
  const prior = change.approvals.find((a) => a.round === change.cab_round && a.approver_id === actor.userId);
  if (prior) {
    throw new DomainError('invalid_state', 'ALREADY_DECIDED', `You already ${prior.decision} this change at ${prior.decided_at}`, {
      current_state: change.state,
      decision: prior.decision,
    });
  }
}

function record(draft: Draft<Change>, decision: Approval['decision'], comment: string | null, ctx: DecideContext): Approval[] {
  const actor = ctx.actor;
  return [
    ...draft.value.approvals,
    { approver: actor.email ?? actor.userId, approver_id: actor.userId, decision, comment, decided_at: ctx.now, round: draft.value.cab_round },
  ];
}

export function approve(draft: Draft<Change>, comment: string | null, ctx: DecideContext): void {
  checkApprover(draft, ctx.actor);
  draft.apply('change.approve', { approvals: record(draft, 'approved', comment, ctx) });
  if (cabProgress(draft.value, ctx.settings).complete) transition(draft, 'scheduled', 'change.schedule', {});
}

export function reject(draft: Draft<Change>, reason: string, comment: string | null, ctx: DecideContext): void {
  checkApprover(draft, ctx.actor);
  draft.apply('change.reject', { approvals: record(draft, 'rejected', comment ?? reason, ctx), rejection_reason: reason, state: 'rejected' });
}

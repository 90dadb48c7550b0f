import { identitiesOfActor, type Actor } from '../actor';
import type { Change, ChangeSettings } from './model';

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

/** Named in the change's cab_approvers (by email or user id): such a person may decide without the CAB role. */
export function isNamedApprover(change: Pick<Change, 'cab_approvers'>, who: Pick<Actor, 'userId' | 'email'>): boolean {
  const ids = identitiesOfActor(who);
  return change.cab_approvers.some((a) => ids.includes(a));
}

/** The requester, by user id or (case-insensitively) by the name the change records. */
export function isRequester(change: Pick<Change, 'requested_by' | 'requested_by_id'>, who: Pick<Actor, 'userId' | 'email'>): boolean {
  return who.userId === change.requested_by_id || identitiesOfActor(who).includes(change.requested_by.toLowerCase());
}

import { samePerson, type Actor, type Identity } from './actor';
import { hasPermission, type Permission } from './permissions';

/**
 * Who may decide something that waits for approvers, shared by every module
 * that asks for approvals (promotions, a template run's approval steps): a
 * member of one of the named groups, or, when none is named, a holder of the
 * module's approve permission; and separation of duties, which keeps the
 * requester (by samePerson) from deciding what they asked for.
 */

export function inApproverGroups(actor: Actor, groups: readonly string[], fallback: Permission): boolean {
  if (groups.length === 0) return hasPermission(actor, fallback);
  const mine = new Set((actor.groups ?? []).map((g) => g.toLowerCase()));
  return groups.some((g) => mine.has(g.toLowerCase()));
}

export function isRequesterOf(actor: Identity, requester: Identity): boolean {
  return samePerson(actor, requester);
}

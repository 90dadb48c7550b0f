import { DomainError } from '../errors';
import { hasPermission, permissionRefusal, rolesGranting, type Permission, type Principal } from '../permissions';
import { isNamedApprover } from './cab';
import type { ChangeCommand } from './requests';
import type { Change, ChangeState } from './model';

/**
 * Who may do what to a change, written once. The workflow's decide() checks it
 * for every command whatever route sent it, and the API checks the same table
 * first so a refused caller never reaches Temporal (nor an idempotency key).
 */

type Commands = ChangeCommand['kind'];

/** The permission each command needs; a PATCH needs what each of its parts needs (see requiredPermissions). */
export const COMMAND_PERMISSIONS: Readonly<Record<Exclude<Commands, 'patch' | 'tick'>, Permission>> = {
  create: 'change:create',
  submit: 'change:update',
  submit_cab: 'change:update',
  // Named CAB approvers may decide without it (see mayDecide).
  approve: 'change:approve',
  reject: 'change:approve',
  cancel: 'change:update',
  review: 'change:review',
};

/** What a PATCH {"state": …} needs, by target: doing the work is `change:implement`, planning it `change:update`. */
export const TRANSITION_PERMISSIONS: Readonly<Record<ChangeState, Permission>> = {
  draft: 'change:update',
  submitted: 'change:update',
  cab_review: 'change:update',
  scheduled: 'change:update',
  cancelled: 'change:update',
  // Never reached by PATCH (a rejection is POST …/reject); asking gets the state's answer, which says so.
  rejected: 'change:update',
  in_progress: 'change:implement',
  completed: 'change:implement',
  failed: 'change:implement',
  post_review: 'change:implement',
  closed: 'change:implement',
};

/** Reads: the change itself, and its audit trail (before/after of every edit). */
export const READ_PERMISSIONS = {
  change: 'change:read',
  history: 'audit:read',
} as const satisfies Record<string, Permission>;

/** Every permission a command needs, in the order they are checked. Timer ticks are the system's own and need none. */
export function requiredPermissions(command: ChangeCommand): Permission[] {
  switch (command.kind) {
    case 'tick':
      return [];
    case 'patch': {
      const { state, review, actual_start: _start, actual_end: _end, ...fields } = command.input;
      const needs = new Set<Permission>();
      if (Object.keys(fields).length) needs.add('change:update');
      if (state !== undefined) needs.add(TRANSITION_PERMISSIONS[state]);
      if (review !== undefined) needs.add(COMMAND_PERMISSIONS.review);
      if (needs.size === 0) needs.add('change:update');
      return [...needs];
    }
    default:
      return [COMMAND_PERMISSIONS[command.kind]];
  }
}

type Caller = Pick<Principal, 'userId' | 'email' | 'permissions'>;

/**
 * Refuses a caller who lacks a permission the command needs (403, naming it).
 * `change` is needed only for approve/reject, where being a named approver of
 * that change stands in for `change:approve`.
 */
export function authorize(change: Change | undefined, command: ChangeCommand, caller: Caller): void {
  for (const permission of requiredPermissions(command)) {
    if (hasPermission(caller, permission)) continue;
    if (command.kind === 'approve' || command.kind === 'reject') {
      if (change && isNamedApprover(change, caller)) continue;
      throw new DomainError('forbidden', 'NOT_AN_APPROVER', `You are not a CAB approver for this change (named in cab_approvers, or holding "${permission}", as the role ${rolesGranting(permission).join(', ')} does)`, {
        required: permission,
        allowedRoles: rolesGranting(permission),
        cab_approvers: change?.cab_approvers ?? [],
      });
    }
    const { message, allowedRoles } = permissionRefusal(permission);
    throw new DomainError('forbidden', 'FORBIDDEN', message, { required: permission, allowedRoles });
  }
}

/** Whether the API must read the change before it can authorize this caller (a possible named approver). */
export function needsChangeToAuthorize(command: ChangeCommand, caller: Caller): boolean {
  return (command.kind === 'approve' || command.kind === 'reject') && !hasPermission(caller, COMMAND_PERMISSIONS[command.kind]);
}

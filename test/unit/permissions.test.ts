import {
  authorize,
  COMMAND_PERMISSIONS,
  needsChangeToAuthorize,
  READ_PERMISSIONS,
  requiredPermissions,
  TRANSITION_PERMISSIONS,
} from '../../domain/changes/permissions';
import { isNamedApprover, isRequester } from '../../domain/changes/cab';
import { CHANGE_STATES, type Change } from '../../domain/changes/model';
import { DomainError } from '../../domain/errors';
import { hasPermission, identitiesOf, permissionRefusal, permissionsFor, ROLE_PERMISSIONS, rolesGranting, type Permission } from '../../domain/permissions';
import { thrown } from '../support/thrown';

const READ = ['change:read', 'cmdb:read', 'deployment:read', 'evidence:read', 'incident:read', 'integration:read', 'inventory:read', 'knowledge:read', 'plugin:read', 'promotion:read', 'rollout:read', 'template:read'];

describe('permissionsFor', () => {
  test('maps a role to its permissions, sorted', () => {
    expect(permissionsFor(['viewer'])).toEqual(READ);
    expect(permissionsFor(['auditor'])).toEqual(['audit-report:create', 'audit-report:read', 'audit:read', ...READ].sort());
  });

  test('role names are matched case-insensitively (Cognito groups are often capitalised)', () => {
    expect(permissionsFor(['CAB-Member'])).toEqual(permissionsFor(['cab-member']));
    expect(permissionsFor(['ADMIN'])).toEqual(['admin']);
    expect(permissionsFor(['Release-Manager'])).toContain('change:approve');
  });

  test('unknown roles grant nothing', () => {
    expect(permissionsFor(['intern', 'guest'])).toEqual([]);
    expect(permissionsFor([])).toEqual([]);
  });

  test('several roles are unioned without duplicates', () => {
    const perms = permissionsFor(['viewer', 'approver', 'requester']);
    expect(perms).toEqual([...new Set(perms)].sort());
    expect(perms).toEqual(expect.arrayContaining(['change:approve', 'promotion:approve', 'change:create', 'change:read']));
    expect(perms).not.toContain('change:implement');
  });

  test('explicit permissions from the token are merged in, deduplicated and sorted', () => {
    expect(permissionsFor(['viewer'], ['zeta:custom', 'change:read', 'audit:read'])).toEqual(['audit:read', ...READ, 'zeta:custom'].sort());
    expect(permissionsFor([], ['change:approve'])).toEqual(['change:approve']);
  });

  test('every role in the table only grants known permission shapes', () => {
    for (const perms of Object.values(ROLE_PERMISSIONS)) {
      for (const p of perms) expect(p === 'admin' || /^[a-z]+(-[a-z]+)*:[a-z]+(-[a-z]+)*$/.test(p)).toBe(true);
    }
  });

  test('deploy hooks and freeze overrides are release managers’ and admins’, not requesters’ or SREs’', () => {
    for (const permission of ['deployment:hook-write', 'deployment:override-freeze'] as const) {
      const holders = Object.keys(ROLE_PERMISSIONS).filter((role) => hasPermission({ permissions: permissionsFor([role]) }, permission));
      expect(holders.sort()).toEqual(['admin', 'release-manager', 'super_admin']);
    }
  });

  test('audit reports are asked for and read by auditors, change, release and ITSM managers and admins; evidence is read by every reading role', () => {
    for (const permission of ['audit-report:create', 'audit-report:read'] as const) {
      const holders = Object.keys(ROLE_PERMISSIONS).filter((role) => hasPermission({ permissions: permissionsFor([role]) }, permission));
      expect(holders.sort()).toEqual(['admin', 'auditor', 'change-manager', 'itsm_manager', 'release-manager', 'super_admin']);
    }
    expect(permissionsFor(['viewer'])).toContain('evidence:read');
    expect(permissionsFor(['agent-registrar'])).not.toContain('evidence:read');
  });

  test('requesters cannot approve; CAB members cannot create', () => {
    expect(permissionsFor(['requester'])).not.toContain('change:approve');
    expect(permissionsFor(['cab-member'])).toContain('change:approve');
    expect(permissionsFor(['cab-member'])).not.toContain('change:create');
  });
});

describe('hasPermission', () => {
  const who = (...permissions: string[]) => ({ permissions });

  test('an exact permission matches', () => {
    expect(hasPermission(who('change:approve'), 'change:approve')).toBe(true);
  });

  test('a missing permission does not', () => {
    expect(hasPermission(who('change:read', 'change:create'), 'change:approve')).toBe(false);
    expect(hasPermission(who(), 'change:read')).toBe(false);
  });

  test('admin and * grant everything', () => {
    const all: Permission[] = ['change:approve', 'incident:delete', 'audit:read', 'admin'];
    for (const p of all) {
      expect(hasPermission(who('admin'), p)).toBe(true);
      expect(hasPermission(who('*'), p)).toBe(true);
    }
  });

  test('a resource wildcard grants every action on that resource only', () => {
    expect(hasPermission(who('change:*'), 'change:approve')).toBe(true);
    expect(hasPermission(who('change:*'), 'change:read')).toBe(true);
    expect(hasPermission(who('change:*'), 'promotion:approve')).toBe(false);
    expect(hasPermission(who('change:*'), 'audit:read')).toBe(false);
  });

  test('near misses do not match', () => {
    expect(hasPermission(who('change'), 'change:approve')).toBe(false);
    expect(hasPermission(who('change:approv'), 'change:approve')).toBe(false);
    expect(hasPermission(who('Change:Approve'), 'change:approve')).toBe(false);
    expect(hasPermission(who('promotion:approve'), 'change:approve')).toBe(false);
    expect(hasPermission(who('*:approve'), 'change:approve')).toBe(false);
  });

  test('works on the output of permissionsFor', () => {
    expect(hasPermission({ permissions: permissionsFor(['Approver']) }, 'change:approve')).toBe(true);
    expect(hasPermission({ permissions: permissionsFor(['super_admin']) }, 'incident:delete')).toBe(true);
    expect(hasPermission({ permissions: permissionsFor(['viewer']) }, 'change:update')).toBe(false);
  });
});

describe('identitiesOf', () => {
  test('user id and email, lower-cased', () => {
    expect(identitiesOf({ userId: 'U-Alice', email: 'Alice@Example.COM' })).toEqual(['u-alice', 'alice@example.com']);
  });

  test('only the user id when there is no email', () => {
    expect(identitiesOf({ userId: 'Svc-Deployer' })).toEqual(['svc-deployer']);
    expect(identitiesOf({ userId: 'svc', email: '' })).toEqual(['svc']);
  });
});

describe('the change permission table', () => {
  const change = { cab_approvers: ['arch@example.com'], requested_by: 'Alice@Example.com', requested_by_id: 'u-alice' } as Change;

  test('every state a PATCH can ask for has an entry; doing the work is change:implement', () => {
    expect(Object.keys(TRANSITION_PERMISSIONS).sort()).toEqual([...CHANGE_STATES].sort());
    for (const state of ['in_progress', 'completed', 'failed', 'post_review', 'closed'] as const) expect(TRANSITION_PERMISSIONS[state]).toBe('change:implement');
    for (const state of ['draft', 'submitted', 'cab_review', 'scheduled', 'cancelled', 'rejected'] as const) expect(TRANSITION_PERMISSIONS[state]).toBe('change:update');
  });

  test('every change and audit permission a role can hold is one some command or read needs, and vice versa', () => {
    const held = new Set(Object.values(ROLE_PERMISSIONS).flat().filter((p) => p.startsWith('change:') || p.startsWith('audit:')));
    const needed = new Set<string>([...Object.values(COMMAND_PERMISSIONS), ...Object.values(TRANSITION_PERMISSIONS), ...Object.values(READ_PERMISSIONS)]);
    expect([...needed].sort()).toEqual([...held].sort());
  });

  test('a PATCH needs what each of its parts needs', () => {
    expect(requiredPermissions({ kind: 'patch', input: {} })).toEqual(['change:update']);
    expect(requiredPermissions({ kind: 'patch', input: { assigned_to: 'x' } })).toEqual(['change:update']);
    expect(requiredPermissions({ kind: 'patch', input: { state: 'in_progress', actual_start: '2026-01-01T00:00:00.000Z' } })).toEqual(['change:implement']);
    expect(requiredPermissions({ kind: 'patch', input: { state: 'completed', assigned_to: 'x' } })).toEqual(['change:update', 'change:implement']);
    expect(requiredPermissions({ kind: 'patch', input: { review: { outcome: 'successful', notes: 'n' } } })).toEqual(['change:review']);
    expect(requiredPermissions({ kind: 'review', input: { outcome: 'successful', notes: 'n' } })).toEqual(['change:review']);
    expect(requiredPermissions({ kind: 'patch', input: { state: 'draft' } })).toEqual(['change:update']);
    expect(requiredPermissions({ kind: 'tick' })).toEqual([]);
  });

  test('a refusal is 403 naming the permission', () => {
    const viewer = { userId: 'v', permissions: permissionsFor(['viewer']) };
    const err = thrown(DomainError, () => authorize(change, { kind: 'patch', input: { state: 'closed' } }, viewer));
    expect({ kind: err.kind, code: err.code, details: err.details }).toEqual({ kind: 'forbidden', code: 'FORBIDDEN', details: { required: 'change:implement', allowedRoles: rolesGranting('change:implement') } });
    expect(err.message).toContain('"change:implement"');
    expect(() => authorize(change, { kind: 'patch', input: { state: 'closed' } }, { userId: 'e', permissions: permissionsFor(['engineer']) })).not.toThrow();
    expect(() => authorize(change, { kind: 'patch', input: { state: 'closed' } }, { userId: 'a', permissions: ['admin'] })).not.toThrow();
  });

  test('a named approver stands in for change:approve on approve and reject only', () => {
    const arch = { userId: 'u-arch', email: 'ARCH@example.com', permissions: permissionsFor(['viewer']) };
    expect(() => authorize(change, { kind: 'approve', input: {} }, arch)).not.toThrow();
    expect(() => authorize(change, { kind: 'reject', input: { reason: 'no' } }, arch)).not.toThrow();
    expect(thrown(DomainError, () => authorize(change, { kind: 'patch', input: { state: 'rejected' } }, arch)).details).toEqual({ required: 'change:update', allowedRoles: rolesGranting('change:update') });
    const stranger = { ...arch, userId: 'u-x', email: 'x@example.com' };
    const err = thrown(DomainError, () => authorize(change, { kind: 'approve', input: {} }, stranger));
    expect(err).toMatchObject({ kind: 'forbidden', code: 'NOT_AN_APPROVER', details: { required: 'change:approve', cab_approvers: ['arch@example.com'] } });
  });

  test('the API reads the change first only for an approve or reject by someone without change:approve', () => {
    const viewer = { userId: 'v', permissions: permissionsFor(['viewer']) };
    const cab = { userId: 'c', permissions: permissionsFor(['cab-member']) };
    expect(needsChangeToAuthorize({ kind: 'approve', input: {} }, viewer)).toBe(true);
    expect(needsChangeToAuthorize({ kind: 'reject', input: { reason: 'r' } }, viewer)).toBe(true);
    expect(needsChangeToAuthorize({ kind: 'approve', input: {} }, cab)).toBe(false);
    expect(needsChangeToAuthorize({ kind: 'submit' }, viewer)).toBe(false);
  });

  test('named approvers and requesters are recognised by user id or email, case-insensitively', () => {
    expect(isNamedApprover(change, { userId: 'arch@example.com' })).toBe(true);
    expect(isNamedApprover(change, { userId: 'u', email: 'Arch@Example.com' })).toBe(true);
    expect(isNamedApprover(change, { userId: 'u', email: 'other@example.com' })).toBe(false);
    expect(isRequester(change, { userId: 'u-alice' })).toBe(true);
    expect(isRequester(change, { userId: 'someone', email: 'alice@example.COM' })).toBe(true);
    expect(isRequester(change, { userId: 'U-ALICE', email: 'bob@example.com' })).toBe(false);
  });
});

describe('a 403 names the roles that have the permission', () => {
  const ALL = [...new Set(Object.values(ROLE_PERMISSIONS).flat())].filter((p): p is Permission => p !== 'admin');

  test.each(ALL)('%s: exactly the roles of the table that hold it, admin last', (permission) => {
    const holders = Object.keys(ROLE_PERMISSIONS).filter((role) => hasPermission({ permissions: permissionsFor([role]) }, permission));
    const named = rolesGranting(permission);
    expect(named.at(-1)).toBe('admin');
    expect([...named].sort()).toEqual(holders.filter((r) => r !== 'super_admin').sort());
  });

  test('the message says the permission and who has it', () => {
    expect(permissionRefusal('promotion:approve')).toEqual({
      message: 'This action needs the "promotion:approve" permission (roles that have it: approver, release-manager, admin)',
      allowedRoles: ['approver', 'release-manager', 'admin'],
    });
    expect(permissionRefusal('deployment:operate', 'environment:write').allowedRoles).toEqual(['release-manager', 'sre', 'admin']);
  });

  test('a change command refused for a missing permission names them too', () => {
    const err = thrown(DomainError, () => authorize(undefined, { kind: 'patch', input: { state: 'closed' } }, { userId: 'v', permissions: permissionsFor(['viewer']) }));
    expect(err.message).toMatch(/^This action needs the "change:[a-z]+" permission \(roles that have it: [a-z_, -]+, admin\)$/);
    expect(err.details).toMatchObject({ allowedRoles: expect.arrayContaining(['admin']) });
  });
});

describe('rollout permissions', () => {
  test('every role reads rollouts; release managers and SREs create and operate them (each command moves production traffic)', () => {
    expect(rolesGranting('rollout:operate')).toEqual(['release-manager', 'sre', 'admin']);
    expect(rolesGranting('rollout:create')).toEqual(['release-manager', 'sre', 'admin']);
    for (const role of ['viewer', 'developer', 'approver', 'cab-member']) expect(permissionsFor([role])).toContain('rollout:read');
  });
});

import { hasPermission, identitiesOf, permissionsFor, ROLE_PERMISSIONS, type Permission } from '../../domain/permissions';

const READ = ['change:read', 'incident:read', 'promotion:read'];

describe('permissionsFor', () => {
  test('maps a role to its permissions, sorted', () => {
    expect(permissionsFor(['viewer'])).toEqual(READ);
    expect(permissionsFor(['auditor'])).toEqual(['audit:read', ...READ].sort());
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
      for (const p of perms) expect(p === 'admin' || /^[a-z]+:[a-z]+$/.test(p)).toBe(true);
    }
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

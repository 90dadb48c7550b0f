/**
 * The one table that turns roles into permissions. Permissions are
 * `<resource>:<action>`; a token may also carry explicit `permissions`.
 * Role names are matched case-insensitively (Cognito groups are often capitalised).
 */
export type Permission =
  | 'change:read'
  | 'change:create'
  | 'change:update'
  | 'change:approve'
  | 'change:implement'
  | 'change:review'
  | 'audit:read'
  | 'promotion:read'
  | 'promotion:create'
  | 'promotion:approve'
  | 'incident:read'
  | 'incident:create'
  | 'incident:update'
  | 'incident:delete'
  | 'admin';

const READ: Permission[] = ['change:read', 'promotion:read', 'incident:read'];
const REQUEST: Permission[] = [...READ, 'change:create', 'change:update', 'promotion:create', 'incident:create', 'incident:update'];

export const ROLE_PERMISSIONS: Record<string, Permission[]> = {
  viewer: READ,
  auditor: [...READ, 'audit:read'],
  developer: REQUEST,
  requester: REQUEST,
  engineer: [...REQUEST, 'change:implement'],
  'change-manager': [...REQUEST, 'change:implement', 'change:review', 'audit:read'],
  'cab-member': [...READ, 'change:approve', 'change:review'],
  approver: [...READ, 'change:approve', 'promotion:approve'],
  'release-manager': [...REQUEST, 'change:implement', 'change:approve', 'change:review', 'promotion:approve', 'audit:read'],
  sre: [...REQUEST, 'change:implement', 'change:review'],
  itsm_manager: [...REQUEST, 'change:implement', 'change:review', 'incident:delete', 'audit:read'],
  admin: ['admin'],
  super_admin: ['admin'],
};

/** Role that makes a user a CAB member for changes that list no named approvers. */
export const CAB_PERMISSION: Permission = 'change:approve';

export interface Principal {
  userId: string;
  tenantId: string;
  roles: string[];
  permissions: string[];
  email?: string;
  name?: string;
}

export function permissionsFor(roles: readonly string[], explicit: readonly string[] = []): string[] {
  const set = new Set<string>(explicit);
  for (const role of roles) for (const p of ROLE_PERMISSIONS[role.toLowerCase()] ?? []) set.add(p);
  return [...set].sort();
}

export function hasPermission(principal: Pick<Principal, 'permissions'>, permission: Permission): boolean {
  const [resource] = permission.split(':');
  return principal.permissions.some((p) => p === permission || p === 'admin' || p === '*' || p === `${resource}:*`);
}

/** How a person is named in approver lists: by email when the token has one, else by user id. */
export function identitiesOf(principal: Pick<Principal, 'userId' | 'email'>): string[] {
  const ids = [principal.userId.toLowerCase()];
  if (principal.email) ids.push(principal.email.toLowerCase());
  return ids;
}

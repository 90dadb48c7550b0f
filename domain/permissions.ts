/**
 * The one table that turns roles into permissions. Permissions are
 * `<resource>:<action>`; a token may also carry explicit `permissions`.
 * Role names are matched case-insensitively (Cognito groups are often capitalised).
 * Which command or read needs which permission is each module's own table
 * (changes: domain/changes/permissions.ts), checked by its workflow and its API.
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
  | 'inventory:read'
  | 'release:write'
  | 'environment:write'
  /** Create, change and delete promotion pipelines: held by whoever manages environments. */
  | 'pipeline:write'
  | 'policy:write'
  | 'incident:read'
  | 'incident:create'
  | 'incident:update'
  | 'incident:delete'
  | 'deployment:read'
  | 'cmdb:read'
  /** Create, change and delete configuration items and their relationships: a change's risk and an incident's detail read them. */
  | 'cmdb:write'
  | 'rollout:read'
  | 'rollout:create'
  /** Start, advance, promote, pause, resume, roll back and retry a rollout: each moves production traffic. */
  | 'rollout:operate'
  | 'deployment:operate'
  | 'template:read'
  /** Create, edit and delete workflow templates: each one's steps may deploy and promote. */
  | 'template:write'
  /** Start a run of a template: its steps pass the same gates, approvals and SoD as when called directly. */
  | 'template-run:create'
  /** Pause, resume and cancel a run. */
  | 'template-run:operate'
  /** Set or change a deploy hook (a component's or an environment's): the command every agent runs is part of what is approved. */
  | 'deployment:hook-write'
  /** Deploy during an active freeze (a rollback, a retry), with a reason that the job and the audit log keep. */
  | 'deployment:override-freeze'
  | 'agent:register'
  | 'agent:manage'
  | 'agent:self'
  /** Start a new workflow run for a record whose run was ended outside Tollgate (POST …/reconcile). */
  | 'workflow:reconcile'
  // Decrypt Temporal payloads of one's own tenant through the codec endpoint (the Temporal UI, the CLI).
  | 'temporal:decode'
  /** Read published knowledge articles and ask the AI query (which answers only from records the caller may read). */
  | 'knowledge:read'
  /** Write knowledge articles, and read drafts and retired ones. */
  | 'knowledge:write'
  /** Read integrations (never their secrets), their types and health, and the loaded plugins. */
  | 'integration:read'
  /** Create, change, delete, test and discover integrations: each holds credentials Tollgate calls out with. */
  | 'integration:write'
  | 'plugin:read'
  /** Enable and disable plugins and write their instances' config. */
  | 'plugin:write'
  /** Read the promotions' signed evidence packets (list, detail, download). */
  | 'evidence:read'
  /** Ask for an audit report of environments over a period: it gathers every promotion, approval, job and change in scope. */
  | 'audit-report:create'
  | 'audit-report:read'
  | 'admin';

const READ: Permission[] = ['change:read', 'promotion:read', 'incident:read', 'inventory:read', 'deployment:read', 'rollout:read', 'template:read', 'cmdb:read', 'knowledge:read', 'integration:read', 'plugin:read', 'evidence:read'];
// Pipelines create releases, sync component versions and record scans as the people who request promotions do.
const REQUEST: Permission[] = [...READ, 'change:create', 'change:update', 'promotion:create', 'incident:create', 'incident:update', 'release:write', 'template-run:create'];

export const ROLE_PERMISSIONS: Record<string, Permission[]> = {
  viewer: READ,
  auditor: [...READ, 'audit:read', 'audit-report:create', 'audit-report:read'],
  developer: REQUEST,
  requester: REQUEST,
  engineer: [...REQUEST, 'change:implement', 'knowledge:write'],
  'change-manager': [...REQUEST, 'change:implement', 'change:review', 'audit:read', 'workflow:reconcile', 'knowledge:write', 'audit-report:create', 'audit-report:read'],
  'cab-member': [...READ, 'change:approve', 'change:review'],
  approver: [...READ, 'change:approve', 'promotion:approve'],
  'release-manager': [
    ...REQUEST,
    'change:implement',
    'change:approve',
    'change:review',
    'promotion:approve',
    'audit:read',
    'environment:write',
    'pipeline:write',
    'policy:write',
    'deployment:operate',
    'rollout:create',
    'rollout:operate',
    'template:write',
    'template-run:operate',
    'deployment:hook-write',
    'deployment:override-freeze',
    'agent:manage',
    'agent:register',
    'temporal:decode',
    'workflow:reconcile',
    'cmdb:write',
    'knowledge:write',
    'integration:write',
    'plugin:write',
    'audit-report:create',
    'audit-report:read',
  ],
  sre: [...REQUEST, 'change:implement', 'change:review', 'deployment:operate', 'rollout:create', 'rollout:operate', 'template-run:operate', 'temporal:decode', 'workflow:reconcile', 'cmdb:write', 'knowledge:write', 'integration:write'],
  // The single-purpose token an agent registers with; the agent then uses its own credential (role `agent`, set by the API).
  'agent-registrar': ['agent:register'],
  itsm_manager: [...REQUEST, 'change:implement', 'change:review', 'incident:delete', 'audit:read', 'workflow:reconcile', 'cmdb:write', 'knowledge:write', 'audit-report:create', 'audit-report:read'],
  admin: ['admin'],
  super_admin: ['admin'],
};

/**
 * The roles (from the table above) that hold any of `permissions`, admin last:
 * a 403 names them, so the caller knows whom to ask or which role to request.
 */
export function rolesGranting(...permissions: Permission[]): string[] {
  const granting = Object.entries(ROLE_PERMISSIONS)
    .filter(([, held]) => !held.includes('admin') && held.some((p) => permissions.includes(p)))
    .map(([role]) => role);
  return [...granting, 'admin'];
}

/** What a 403 for a missing permission says: the permission(s), and the roles that have one. */
export function permissionRefusal(...permissions: Permission[]): { message: string; allowedRoles: string[] } {
  const allowedRoles = rolesGranting(...permissions);
  const needed = permissions.map((p) => `"${p}"`).join(' or ');
  return { message: `This action needs the ${needed} permission (roles that have it: ${allowedRoles.join(', ')})`, allowedRoles };
}

/** Role that makes a user a CAB member for changes that list no named approvers. */
export const CAB_PERMISSION: Permission = 'change:approve';

export interface Principal {
  userId: string;
  tenantId: string;
  roles: string[];
  permissions: string[];
  email?: string;
  name?: string;
  /** The token's `groups` claim (approver groups match these and the roles). */
  groups?: string[];
  /** Set only for an agent's own credential: the agent it identifies. */
  agentId?: string;
}

/** Every group a person counts as a member of, for approver groups: roles and groups, lower-cased. */
export function groupsOf(principal: Pick<Principal, 'roles' | 'groups'>): string[] {
  return [...new Set([...principal.roles, ...(principal.groups ?? [])].map((g) => g.toLowerCase()))];
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

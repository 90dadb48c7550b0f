import type { Context } from 'hono';
import type { Actor } from '../domain/actor';
import { groupsOf, hasPermission, permissionRefusal, type Permission, type Principal } from '../domain/permissions';
import type { AppEnv } from './context';
import { Forbidden, Unauthorized } from './errors';

export function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get('principal');
  if (!principal) throw new Unauthorized();
  return principal;
}

export function requirePermission(c: Context<AppEnv>, permission: Permission): Principal {
  const principal = principalOf(c);
  if (!hasPermission(principal, permission)) {
    const { message, allowedRoles } = permissionRefusal(permission);
    throw new Forbidden(message, 'FORBIDDEN', { required: permission, roles: principal.roles, allowedRoles });
  }
  return principal;
}

/** The caller as workflows see them (no tenant: the workflow id already carries it). */
export function actorOf(c: Context<AppEnv>): Actor {
  const p = principalOf(c);
  return { userId: p.userId, email: p.email, name: p.name, permissions: p.permissions, groups: groupsOf(p), requestId: c.get('requestId') };
}

/**
 * A call only an agent makes, with its own credential: a person's token (even an
 * admin's) is refused, since it identifies no agent whose task it could be.
 */
export function requireAgentCredential(c: Context<AppEnv>): Principal & { agentId: string } {
  const principal = requirePermission(c, 'agent:self');
  if (!principal.agentId) throw new Forbidden('Only an agent, with its own credential, may call this', 'AGENT_ONLY', { required: 'agent:self' });
  return principal as Principal & { agentId: string };
}

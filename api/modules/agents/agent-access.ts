import type { Context } from 'hono';
import { hasPermission, permissionRefusal, type Principal } from '../../../domain/permissions';
import type { AppEnv } from '../../context';
import { Forbidden, NotFound } from '../../errors';
import { principalOf } from '../../principal';

/** Agents are inventory and part of deployments: either read permission shows them. */
export function requireReader(c: Context<AppEnv>): Principal {
  const principal = principalOf(c);
  if (hasPermission(principal, 'inventory:read') || hasPermission(principal, 'deployment:read')) return principal;
  const { message, allowedRoles } = permissionRefusal('inventory:read', 'deployment:read');
  throw new Forbidden(message, 'FORBIDDEN', { required: 'inventory:read', roles: principal.roles, allowedRoles });
}

/**
 * An agent acting on the agent `id`: another tenant's is not there (404); another
 * agent of the same tenant is there but not its to act for (403).
 */
export async function requireSelf(c: Context<AppEnv>, principal: Principal & { agentId: string }, id: string): Promise<void> {
  if (principal.agentId === id) return;
  const { rowCount } = await c.get('deps').pool.query('SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2', [principal.tenantId, id]);
  if (!rowCount) throw new NotFound(`Agent ${id} not found`);
  throw new Forbidden(`Agent ${principal.agentId} may act only for itself, not for agent ${id}`, 'AGENT_ONLY', { agentId: principal.agentId });
}

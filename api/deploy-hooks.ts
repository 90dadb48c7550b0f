import type { Context } from 'hono';
import { hasPermission, rolesGranting } from '../domain/permissions';
import type { PoolClient } from '../platform/db';
import type { AppEnv } from './context';
import { Conflict, Forbidden } from './errors';
import { principalOf } from './principal';

/** A blank hook is no hook (the agent falls back to the environment's), as the deployment plan reads it. */
const normalized = (hook: unknown): string | null => (typeof hook === 'string' && hook.trim() !== '' ? hook : null);

export const HOOK_WRITE = 'deployment:hook-write';

/**
 * A deploy hook is a shell command every agent runs, so it is part of what is
 * approved: setting, changing or removing one (a component's or an
 * environment's) needs deployment:hook-write on top of the write permission of
 * the resource. Writing the same hook back needs nothing more.
 */
export function requireHookWrite(c: Context<AppEnv>, before: unknown, after: unknown, of: string): boolean {
  if (normalized(before) === normalized(after)) return false;
  const principal = principalOf(c);
  if (!hasPermission(principal, HOOK_WRITE)) {
    const allowedRoles = rolesGranting(HOOK_WRITE);
    throw new Forbidden(
      `Setting or changing the deploy hook of ${of} needs the "${HOOK_WRITE}" permission (roles that have it: ${allowedRoles.join(', ')}): the command agents run is part of what is approved`,
      'FORBIDDEN',
      { required: HOOK_WRITE, allowedRoles, roles: principal.roles },
    );
  }
  return true;
}

/**
 * A promotion that is deploying has been cleared with the hooks its approvals
 * were bound to, and its job reads them when it leaves the environment's queue:
 * a hook it would run cannot change under it. Answers 409 HOOK_IN_USE naming the
 * promotions; they finish (or are cancelled) first.
 */
export async function refuseWhileDeploying(db: PoolClient, tenantId: string, scope: { componentId: string } | { environmentId: string }, of: string): Promise<void> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT p.id FROM promotions p WHERE p.tenant_id = $1 AND p.status = 'deploying'
        AND ($2::uuid IS NULL OR p.target_environment_id = $2)
        AND ($3::jsonb IS NULL OR EXISTS (SELECT 1 FROM releases r WHERE r.tenant_id = p.tenant_id AND r.id = p.release_id AND r.components @> $3::jsonb))
      ORDER BY p.requested_at LIMIT 10`,
    [tenantId, 'environmentId' in scope ? scope.environmentId : null, 'componentId' in scope ? JSON.stringify([{ componentId: scope.componentId }]) : null],
  );
  if (rows.length === 0) return;
  const ids = rows.map((r) => r.id);
  throw new Conflict(`The deploy hook of ${of} cannot change while promotion${ids.length === 1 ? '' : 's'} ${ids.join(', ')} deploy${ids.length === 1 ? 's' : ''} with the hook approved; wait for the deployment or cancel it`, 'HOOK_IN_USE', {
    promotionIds: ids,
  });
}

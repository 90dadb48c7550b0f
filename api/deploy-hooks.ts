import type { Context } from 'hono';
import { hasPermission } from '../domain/permissions';
import type { AppEnv } from './context';
import { Forbidden } from './errors';
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
    throw new Forbidden(`Setting or changing the deploy hook of ${of} needs the "${HOOK_WRITE}" permission: the command agents run is part of what is approved`, 'FORBIDDEN', {
      required: HOOK_WRITE,
      roles: principal.roles,
    });
  }
  return true;
}

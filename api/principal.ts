import type { Context } from 'hono';
import type { Actor } from '../domain/changes/commands';
import { hasPermission, type Permission, type Principal } from '../domain/permissions';
import type { AppEnv } from './context';
import { BadRequest, Forbidden, Unauthorized } from './errors';

export function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get('principal');
  if (!principal) throw new Unauthorized();
  return principal;
}

export function requirePermission(c: Context<AppEnv>, permission: Permission): Principal {
  const principal = principalOf(c);
  if (!hasPermission(principal, permission)) {
    throw new Forbidden(`This action needs the "${permission}" permission`, 'FORBIDDEN', { required: permission, roles: principal.roles });
  }
  return principal;
}

/** The caller as workflows see them (no tenant: the workflow id already carries it). */
export function actorOf(c: Context<AppEnv>): Actor {
  const p = principalOf(c);
  return { userId: p.userId, email: p.email, name: p.name, permissions: p.permissions, requestId: c.get('requestId') };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The request's Idempotency-Key, which becomes the workflow update id so a
 * retried command is applied once. Prefixed with the operation so one key can
 * never answer a different command.
 */
export function updateIdFor(c: Context<AppEnv>, operation: string): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new BadRequest('Idempotency-Key must be 1-255 visible ASCII characters', 'VALIDATION_FAILED', [
      { field: 'Idempotency-Key', code: 'invalid_format', message: 'must be 1-255 visible ASCII characters' },
    ]);
  }
  return `${operation}:${key}`;
}

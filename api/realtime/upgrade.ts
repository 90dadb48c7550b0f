import type { Context } from 'hono';
import type { AppEnv } from '../context';
import { ApiError, ValidationFailed } from '../errors';

/** WebSocket routes are no OpenAPI operations: their path ids and the upgrade are checked by hand, with the same answers. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uuidParam(c: Context<AppEnv>, name: string): string {
  const value = c.req.param(name) ?? '';
  if (!UUID.test(value)) throw new ValidationFailed([{ field: name, code: 'invalid_format', message: 'must be a UUID' }]);
  return value.toLowerCase();
}

export function requireUpgrade(c: Context<AppEnv>): void {
  if (c.req.header('upgrade')?.toLowerCase() === 'websocket') return;
  throw new ApiError(426, 'UPGRADE_REQUIRED', `${c.req.path} is a WebSocket: connect with Upgrade: websocket`, undefined, undefined, { Upgrade: 'websocket' });
}

import type { Context } from 'hono';
import { recordAudit } from '../platform/audit';
import { withTransaction, type PoolClient } from '../platform/db';
import type { AppEnv } from './context';
import { Conflict, NotFound } from './errors';
import { principalOf } from './principal';

/**
 * Writes of plain entities (environments, releases, policies …): the row and
 * its audit entry in one transaction, with the database's refusals turned into
 * the answers a caller can act on (a duplicate name is a 409, a missing parent
 * a 404 or 409) instead of a 500.
 */
export interface AuditedWrite<T> {
  result: T;
  audit: { action: string; resourceType: string; resourceId: string; before?: unknown; after?: unknown };
}

export interface WriteOptions {
  /** Message for a unique violation, by constraint/index name (or '*' for any). */
  unique?: Record<string, string>;
  /** Message for a foreign-key violation: the row is still referenced, or a parent is missing. */
  foreignKey?: string;
  /** The 404's message when `fn` finds nothing to write, in the resource's own words (`Target … not found`). */
  notFound?: string;
}

export async function auditedWrite<T>(c: Context<AppEnv>, fn: (db: PoolClient) => Promise<AuditedWrite<T> | undefined>, options: WriteOptions = {}): Promise<T> {
  const { tenantId, userId, email } = principalOf(c);
  try {
    return await withTransaction(c.get('deps').pool, async (db) => {
      const write = await fn(db);
      if (!write) throw new NotFound(options.notFound ?? 'Not found');
      await recordAudit(db, { tenantId, actor: email ?? userId, requestId: c.get('requestId'), ...write.audit });
      return write.result;
    });
  } catch (err) {
    const { code, constraint } = (err ?? {}) as { code?: string; constraint?: string };
    if (code === '23505') {
      const message = options.unique?.[constraint ?? ''] ?? options.unique?.['*'] ?? 'A resource with these values already exists';
      throw new Conflict(message, 'ALREADY_EXISTS', { constraint });
    }
    if (code === '23503') throw new Conflict(options.foreignKey ?? 'The resource is referenced by others or refers to one that does not exist', 'IN_USE', { constraint });
    throw err;
  }
}

/** pg returns timestamptz as Date; the API speaks ISO 8601. */
export const iso = (t: Date | string | null | undefined): string | null => (t ? new Date(t).toISOString() : null);


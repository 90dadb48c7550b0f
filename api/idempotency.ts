import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { canonicalJson } from '../domain/canonical-json';
import type { PoolClient } from '../platform/db';
import type { AppEnv } from './context';
import { BadRequest, Unprocessable } from './errors';
import { principalOf } from './principal';

/**
 * Idempotency keys, for every module. A key belongs to its first use: the
 * tenant, the caller, the operation, the resource and the request body. The
 * same request sent again (a retry) is applied once and answered as the first
 * was; anything else sent with that key — another caller, another operation,
 * another resource or another body — is refused with 422 IDEMPOTENCY_KEY_REUSED,
 * so a key can never carry one person's request into another's answer.
 */

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key header, if any (1-255 visible ASCII characters). */
export function idempotencyKeyOf(c: Context<AppEnv>): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!KEY_FORMAT.test(key)) {
    throw new BadRequest('Idempotency-Key must be 1-255 visible ASCII characters', 'VALIDATION_FAILED', [
      { field: 'Idempotency-Key', code: 'invalid_format', message: 'must be 1-255 visible ASCII characters' },
    ]);
  }
  return key;
}

/** What a keyed request is, for binding the key to it. */
export interface KeyedRequest {
  /** The module's key space, e.g. 'change'; keys of different scopes never meet. */
  scope: string;
  operation: string;
  /** The resource the request acts on; absent when the request creates one. */
  resource?: string;
  body: unknown;
}

/** The first use of a key, as recorded. */
export interface KeyRecord {
  caller_id: string;
  operation: string;
  resource_id: string;
  request_hash: string;
}

export type ReuseConflict = 'caller' | 'operation' | 'resource' | 'body';

/**
 * Why a use of a key is not a retry of its first use, or undefined when it is.
 * A create names no resource: the one its first use allocated is the answer.
 */
export function reuseConflict(first: KeyRecord, attempt: { caller: string; operation: string; resource?: string; requestHash: string }): ReuseConflict | undefined {
  if (first.caller_id !== attempt.caller) return 'caller';
  if (first.operation !== attempt.operation) return 'operation';
  if (attempt.resource !== undefined && first.resource_id !== attempt.resource) return 'resource';
  if (first.request_hash !== attempt.requestHash) return 'body';
  return undefined;
}

/** Two equal bodies hash alike whatever their key order. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body ?? null)).digest('hex');
}

/**
 * The workflow update id of a keyed command. Every part that makes two
 * requests different goes in, so even without the key record two callers (or
 * two operations, or two resources) can never share an update and its answer.
 */
export function keyedUpdateId(parts: { tenant: string; caller: string; operation: string; resource: string; key: string }): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([parts.tenant, parts.caller, parts.operation, parts.resource, parts.key]))
    .digest('base64url');
  return `idem-${digest}`;
}

/** A keyed request allowed to proceed. */
export interface KeyUse {
  key: string;
  updateId: string;
  /** The resource the key is bound to (for a create: the one allocated at its first use). */
  resource: string;
  /** The answer to the first use once it succeeded; a retry returns it without doing anything again. */
  outcome?: unknown;
  /** Records the answer of a successful first use. */
  remember(outcome: unknown): Promise<void>;
  /**
   * For a write that keeps its answer in its own transaction (so the answer and
   * the row land together or not at all): the first use's answer if it already
   * has one, read with the key locked until the transaction ends, so two
   * retries racing each other apply once. Call it first inside that transaction.
   */
  answerIn<T>(db: PoolClient): Promise<T | undefined>;
  /** Records the answer inside the write's transaction, after `answerIn` found none. */
  rememberIn(db: PoolClient, outcome: unknown): Promise<void>;
}

const MESSAGES: Record<ReuseConflict, string> = {
  caller: 'This Idempotency-Key was already used by another caller; use a fresh key for every new request',
  operation: 'This Idempotency-Key was already used for a different operation; use a fresh key for every new request',
  resource: 'This Idempotency-Key was already used on a different resource; use a fresh key for every new request',
  body: 'This Idempotency-Key was already used with a different request body; use a fresh key for every new request',
};

/**
 * Binds the request's Idempotency-Key (if it has one) to this request, or
 * checks that the request is a retry of the key's first use. Call it after
 * authorization, so a caller refused without a key is refused with one too.
 * `allocate` names the resource a create will make; it runs only on a key's
 * first use.
 */
export async function useIdempotencyKey(
  c: Context<AppEnv>,
  request: KeyedRequest,
  allocate?: () => Promise<string>,
): Promise<KeyUse | undefined> {
  const key = idempotencyKeyOf(c);
  if (key === undefined) return undefined;
  const { pool } = c.get('deps');
  const { tenantId, userId } = principalOf(c);
  const hash = requestHash(request.body);
  const where = [tenantId, request.scope, key];
  const read = async () =>
    (
      await pool.query<KeyRecord & { outcome: unknown }>(
        'SELECT caller_id, operation, resource_id, request_hash, outcome FROM idempotency_keys WHERE tenant_id = $1 AND scope = $2 AND key = $3',
        where,
      )
    ).rows[0];

  let first = await read();
  if (!first) {
    const resource = request.resource ?? (allocate ? await allocate() : undefined);
    if (resource === undefined) throw new Error(`useIdempotencyKey(${request.scope}.${request.operation}): a create needs an allocator`);
    // Two first uses racing: one insert wins, the other reads the winner's record.
    const inserted = await pool.query<KeyRecord & { outcome: unknown }>(
      `INSERT INTO idempotency_keys (tenant_id, scope, key, caller_id, operation, resource_id, request_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
       RETURNING caller_id, operation, resource_id, request_hash, outcome`,
      [...where, userId, request.operation, resource, hash],
    );
    first = inserted.rows[0] ?? (await read());
  }
  const conflict = reuseConflict(first, { caller: userId, operation: request.operation, resource: request.resource, requestHash: hash });
  if (conflict) throw new Unprocessable(MESSAGES[conflict], 'IDEMPOTENCY_KEY_REUSED', { conflict });

  return {
    key,
    resource: first.resource_id,
    updateId: keyedUpdateId({ tenant: tenantId, caller: userId, operation: request.operation, resource: first.resource_id, key }),
    outcome: first.outcome ?? undefined,
    async remember(outcome) {
      try {
        await pool.query('UPDATE idempotency_keys SET outcome = $4 WHERE tenant_id = $1 AND scope = $2 AND key = $3 AND outcome IS NULL', [
          ...where,
          JSON.stringify(outcome),
        ]);
      } catch (err) {
        // The command did land; a retry still gets its answer from the workflow's update id.
        c.get('log').warn({ err, scope: request.scope, operation: request.operation }, 'could not record the outcome of an idempotent request');
      }
    },
    async answerIn<T>(db: PoolClient) {
      const { rows } = await db.query<{ outcome: T | null }>('SELECT outcome FROM idempotency_keys WHERE tenant_id = $1 AND scope = $2 AND key = $3 FOR UPDATE', where);
      return rows[0]?.outcome ?? undefined;
    },
    async rememberIn(db, outcome) {
      await db.query('UPDATE idempotency_keys SET outcome = $4 WHERE tenant_id = $1 AND scope = $2 AND key = $3', [...where, JSON.stringify(outcome)]);
    },
  };
}

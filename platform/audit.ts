import type { Pool, PoolClient } from './db';

export interface AuditEntry {
  tenantId: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  before?: unknown;
  after?: unknown;
  requestId?: string;
  occurredAt?: string;
  /** Makes the write idempotent: a second entry with the same key is ignored. */
  dedupeKey?: string;
}

/** The audit rows of one committed version of a workflow-owned entity. */
export interface EntityEvents {
  tenantId: string;
  resourceType: string;
  resourceId: string;
  versionTag: string;
  events: ReadonlyArray<{ action: string; before: unknown; after: unknown }>;
  actor: { userId: string; email?: string | null };
  requestId?: string;
  occurredAt: string;
}

/**
 * Those rows as one INSERT, its parameters numbered from `$first`: a statement
 * of its own, or a data-modifying CTE in the entity's own write so the row and
 * its audit land in one statement (one round trip, atomic without BEGIN/COMMIT).
 * One row per event, by the command's sender, each keyed
 * `<resource>:<tenant>:<id>:<versionTag>:<index>` so a retried persistence
 * activity writes each once. `versionTag` keeps the key form each module has
 * always used (rows already written must still dedupe a retry).
 */
export function entityEventsInsert(entry: EntityEvents, first: number): { sql: string; params: unknown[] } {
  const $ = (i: number) => `$${first + i}`;
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  return {
    sql: `INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_id, before, after, request_id, dedupe_key, occurred_at)
      SELECT ${$(0)}, ${$(1)}, e.action, ${$(2)}, ${$(3)}, e.before, e.after, ${$(4)}, ${$(5)} || (e.ord - 1), ${$(6)}::timestamptz
        FROM unnest(${$(7)}::text[], ${$(8)}::jsonb[], ${$(9)}::jsonb[]) WITH ORDINALITY AS e(action, before, after, ord)
       ORDER BY e.ord
      ON CONFLICT (dedupe_key) DO NOTHING`,
    params: [
      entry.tenantId,
      entry.actor.email ?? entry.actor.userId,
      entry.resourceType,
      entry.resourceId,
      entry.requestId ?? null,
      `${entry.resourceType}:${entry.tenantId}:${entry.resourceId}:${entry.versionTag}:`,
      entry.occurredAt,
      entry.events.map((e) => e.action),
      entry.events.map((e) => json(e.before)),
      entry.events.map((e) => json(e.after)),
    ],
  };
}

/** The audit rows of one committed version (see entityEventsInsert), in one statement. */
export async function recordEntityEvents(db: Pool | PoolClient, entry: EntityEvents): Promise<void> {
  if (entry.events.length === 0) return;
  const { sql, params } = entityEventsInsert(entry, 1);
  await db.query(sql, params);
}

/** The one way anything writes to the audit log; pass the transaction's client to keep it atomic with the change. */
export async function recordAudit(db: Pool | PoolClient, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_id, before, after, request_id, dedupe_key, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10::timestamptz, now()))
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      entry.tenantId,
      entry.actor,
      entry.action,
      entry.resourceType,
      entry.resourceId,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      entry.requestId ?? null,
      entry.dedupeKey ?? null,
      entry.occurredAt ?? null,
    ],
  );
}

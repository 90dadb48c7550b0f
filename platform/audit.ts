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

/**
 * The audit rows of one committed version of a workflow-owned entity: one per
 * event its command produced, by the command's sender, each keyed
 * `<resource>:<tenant>:<id>:<versionTag>:<index>` so a retried persistence
 * activity writes each once. `versionTag` keeps the key form each module has
 * always used (rows already written must still dedupe a retry).
 */
export async function recordEntityEvents(
  db: Pool | PoolClient,
  entry: {
    tenantId: string;
    resourceType: string;
    resourceId: string;
    versionTag: string;
    events: ReadonlyArray<{ action: string; before: unknown; after: unknown }>;
    actor: { userId: string; email?: string | null };
    requestId?: string;
    occurredAt: string;
  },
): Promise<void> {
  for (const [i, event] of entry.events.entries()) {
    await recordAudit(db, {
      tenantId: entry.tenantId,
      actor: entry.actor.email ?? entry.actor.userId,
      action: event.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId,
      before: event.before,
      after: event.after,
      requestId: entry.requestId,
      occurredAt: entry.occurredAt,
      dedupeKey: `${entry.resourceType}:${entry.tenantId}:${entry.resourceId}:${entry.versionTag}:${i}`,
    });
  }
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

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

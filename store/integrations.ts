import { secretsShown } from '../domain/integrations/config';
import { integrationType } from '../domain/integrations/types';
import type { Pool, PoolClient } from '../platform/db';
import { openSecrets, sealedKeyId, sealSecrets, secretOwner, type SecretKey } from './integrations-secrets';

/**
 * Integrations as stored: clear config beside sealed secrets. Read by the
 * integrations API (which never serves a secret) and by the calls' activity
 * (which opens them to make the call).
 */

type Db = Pool | PoolClient;

export const INTEGRATION_COLUMNS = 'i.id, i.type_id, i.name, i.description, i.config, i.secret_fields, i.events, i.version, i.health, i.health_checked_at, i.created_by, i.created_at, i.updated_at';

export interface StoredHealth {
  ok: boolean;
  reason: string | null;
  details?: unknown;
  durationMs?: number;
}

export type IntegrationRow = {
  id: string;
  type_id: string;
  name: string;
  description: string | null;
  config: Record<string, unknown>;
  secret_fields: string[];
  events: string[];
  version: number;
  health: StoredHealth | null;
  health_checked_at: Date | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

const iso = (t: Date | null) => (t ? new Date(t).toISOString() : null);

export const presentIntegrationRow = (r: IntegrationRow) => ({
  id: r.id,
  typeId: r.type_id,
  kind: integrationType(r.type_id)?.kind ?? null,
  name: r.name,
  description: r.description,
  config: r.config,
  secrets: secretsShown(integrationType(r.type_id)?.secretFields ?? r.secret_fields, r.secret_fields),
  events: r.events,
  version: r.version,
  health: r.health ? { ...r.health, checkedAt: iso(r.health_checked_at) } : null,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export interface IntegrationWrite {
  typeId: string;
  name: string;
  description: string | null;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
  events: string[];
}

export async function findIntegration(db: Db, tenantId: string, id: string, lock = false): Promise<IntegrationRow | undefined> {
  const { rows } = await db.query<IntegrationRow>(`SELECT ${INTEGRATION_COLUMNS} FROM integrations i WHERE i.tenant_id = $1 AND i.id = $2${lock ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

/** The row with its secrets opened: what a call runs with. */
export async function integrationWithSecrets(db: Db, keys: SecretKey[], tenantId: string, id: string): Promise<(IntegrationRow & { secrets: Record<string, string> }) | undefined> {
  const { rows } = await db.query<IntegrationRow & { sealed: string | null }>(`SELECT ${INTEGRATION_COLUMNS}, i.secrets AS sealed FROM integrations i WHERE i.tenant_id = $1 AND i.id = $2`, [tenantId, id]);
  const row = rows[0];
  if (!row) return undefined;
  const { sealed, ...rest } = row;
  return { ...rest, secrets: openSecrets(keys, secretOwner(tenantId, 'integrations', id), sealed) };
}

export async function insertIntegration(db: PoolClient, keys: SecretKey[], tenantId: string, id: string, w: IntegrationWrite, createdBy: string): Promise<IntegrationRow> {
  const { rows } = await db.query<IntegrationRow>(
    `INSERT INTO integrations AS i (tenant_id, id, type_id, name, description, config, secrets, secret_fields, events, version, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, 1, $9, now(), now()) RETURNING ${INTEGRATION_COLUMNS}`,
    [tenantId, id, w.typeId, w.name, w.description, JSON.stringify(w.config), sealSecrets(keys, secretOwner(tenantId, 'integrations', id), w.secrets), Object.keys(w.secrets), createdBy, w.events],
  );
  return rows[0];
}

export async function updateIntegration(db: PoolClient, keys: SecretKey[], tenantId: string, id: string, w: IntegrationWrite): Promise<IntegrationRow> {
  const { rows } = await db.query<IntegrationRow>(
    `UPDATE integrations i SET type_id = $3, name = $4, description = $5, config = $6, secrets = $7, secret_fields = $8, events = $9, version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${INTEGRATION_COLUMNS}`,
    [tenantId, id, w.typeId, w.name, w.description, JSON.stringify(w.config), sealSecrets(keys, secretOwner(tenantId, 'integrations', id), w.secrets), Object.keys(w.secrets), w.events],
  );
  return rows[0];
}

export async function deleteIntegrationRow(db: PoolClient, tenantId: string, id: string): Promise<IntegrationRow | undefined> {
  const { rows } = await db.query<IntegrationRow>(`DELETE FROM integrations AS i WHERE tenant_id = $1 AND id = $2 RETURNING ${INTEGRATION_COLUMNS}`, [tenantId, id]);
  return rows[0];
}

/** The last health answer; an older check finishing late never replaces a newer one. */
export async function recordIntegrationHealth(db: Db, tenantId: string, id: string, health: StoredHealth, checkedAt: string): Promise<void> {
  await db.query(
    `UPDATE integrations SET health = $3, health_checked_at = $4 WHERE tenant_id = $1 AND id = $2 AND (health_checked_at IS NULL OR health_checked_at <= $4)`,
    [tenantId, id, JSON.stringify(health), checkedAt],
  );
}

/**
 * Re-seals every row (integrations and plugin instances; of one tenant when
 * given) whose secrets are under another key than the first: what
 * `npm run rotate-integration-key` runs. Each row in its own short
 * transaction, locked, so writers are never held long. A row sealed under a
 * key the list does not hold is left as it is and reported, and the rest
 * still move.
 */
export async function resealSecrets(pool: Pool, keys: SecretKey[], tenantId?: string): Promise<{ resealed: number; current: number; unreadable: Array<{ row: string; keyId: string }> }> {
  let resealed = 0;
  let current = 0;
  const unreadable: Array<{ row: string; keyId: string }> = [];
  for (const table of ['integrations', 'plugin_instances'] as const) {
    const { rows } = await pool.query<{ tenant_id: string; id: string; secrets: string }>(
      `SELECT tenant_id, id, secrets FROM ${table} WHERE secrets IS NOT NULL AND ($1::text IS NULL OR tenant_id = $1)`,
      [tenantId ?? null],
    );
    for (const row of rows) {
      const keyId = sealedKeyId(row.secrets) ?? '';
      if (keyId === keys[0].id) {
        current++;
        continue;
      }
      const owner = secretOwner(row.tenant_id, table, row.id);
      if (!keys.some((k) => k.id === keyId)) {
        unreadable.push({ row: owner, keyId });
        continue;
      }
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const locked = await client.query<{ secrets: string | null }>(`SELECT secrets FROM ${table} WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [row.tenant_id, row.id]);
        const sealed = locked.rows[0]?.secrets;
        if (sealed && sealedKeyId(sealed) !== keys[0].id) {
          await client.query(`UPDATE ${table} SET secrets = $3 WHERE tenant_id = $1 AND id = $2`, [row.tenant_id, row.id, sealSecrets(keys, owner, openSecrets(keys, owner, sealed))]);
          resealed++;
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    }
  }
  return { resealed, current, unreadable };
}

import { secretsShown } from '../domain/integrations/config';
import type { Pool, PoolClient } from '../platform/db';
import { openSecrets, sealSecrets, secretOwner, type SecretKey } from './integrations-secrets';

/**
 * A tenant's view of the loaded plugins (enabled or not, the last health
 * answer) and its plugin instances, read by the plugins API and by the calls'
 * activity.
 */

type Db = Pool | PoolClient;
const iso = (t: Date | null) => (t ? new Date(t).toISOString() : null);

export interface PluginStateRow {
  plugin_id: string;
  enabled: boolean;
  health: Record<string, unknown> | null;
  checked_at: Date | null;
}

export async function pluginStates(db: Db, tenantId: string): Promise<Map<string, PluginStateRow>> {
  const { rows } = await db.query<PluginStateRow>('SELECT plugin_id, enabled, health, checked_at FROM plugin_states WHERE tenant_id = $1', [tenantId]);
  return new Map(rows.map((r) => [r.plugin_id, r]));
}

export async function setPluginEnabled(db: Db, tenantId: string, pluginId: string, enabled: boolean): Promise<void> {
  await db.query(
    `INSERT INTO plugin_states (tenant_id, plugin_id, enabled, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`,
    [tenantId, pluginId, enabled],
  );
}

export async function recordPluginHealth(db: Db, tenantId: string, pluginId: string, health: Record<string, unknown>, checkedAt: string): Promise<void> {
  await db.query(
    `INSERT INTO plugin_states (tenant_id, plugin_id, enabled, health, checked_at, updated_at) VALUES ($1, $2, true, $3, $4, now())
     ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET health = EXCLUDED.health, checked_at = EXCLUDED.checked_at
       WHERE plugin_states.checked_at IS NULL OR plugin_states.checked_at <= EXCLUDED.checked_at`,
    [tenantId, pluginId, JSON.stringify(health), checkedAt],
  );
}

export const presentPluginHealth = (row: PluginStateRow | undefined) => (row?.health ? { ...(row.health as object), checkedAt: iso(row.checked_at) } : null);

export const PLUGIN_INSTANCE_COLUMNS = 'p.id, p.plugin_id, p.name, p.config, p.secret_fields, p.events, p.version, p.created_by, p.created_at, p.updated_at';

export type PluginInstanceRow = {
  id: string;
  plugin_id: string;
  name: string;
  config: Record<string, unknown>;
  secret_fields: string[];
  events: string[];
  version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

export const presentPluginInstanceRow = (r: PluginInstanceRow, declaredSecrets: readonly string[] = r.secret_fields) => ({
  id: r.id,
  pluginId: r.plugin_id,
  name: r.name,
  config: r.config,
  secrets: secretsShown(declaredSecrets, r.secret_fields),
  events: r.events,
  version: r.version,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export interface PluginInstanceWrite {
  pluginId: string;
  name: string;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
  /** The events delivered to it (notifier plugins only; checked by the caller). */
  events: string[];
}

export async function findPluginInstance(db: Db, tenantId: string, id: string, lock = false): Promise<PluginInstanceRow | undefined> {
  const { rows } = await db.query<PluginInstanceRow>(`SELECT ${PLUGIN_INSTANCE_COLUMNS} FROM plugin_instances p WHERE p.tenant_id = $1 AND p.id = $2${lock ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0];
}

export async function pluginInstanceSecrets(db: Db, keys: SecretKey[], tenantId: string, id: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ secrets: string | null }>('SELECT secrets FROM plugin_instances WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return openSecrets(keys, secretOwner(tenantId, 'plugin_instances', id), rows[0]?.secrets ?? null);
}

export async function insertPluginInstance(db: PoolClient, keys: SecretKey[], tenantId: string, id: string, w: PluginInstanceWrite, createdBy: string): Promise<PluginInstanceRow> {
  const { rows } = await db.query<PluginInstanceRow>(
    `INSERT INTO plugin_instances AS p (tenant_id, id, plugin_id, name, config, secrets, secret_fields, events, version, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $9, 1, $8, now(), now()) RETURNING ${PLUGIN_INSTANCE_COLUMNS}`,
    [tenantId, id, w.pluginId, w.name, JSON.stringify(w.config), sealSecrets(keys, secretOwner(tenantId, 'plugin_instances', id), w.secrets), Object.keys(w.secrets), createdBy, w.events],
  );
  return rows[0];
}

export async function updatePluginInstance(db: PoolClient, keys: SecretKey[], tenantId: string, id: string, w: PluginInstanceWrite): Promise<PluginInstanceRow> {
  const { rows } = await db.query<PluginInstanceRow>(
    `UPDATE plugin_instances p SET name = $3, config = $4, secrets = $5, secret_fields = $6, events = $7, version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${PLUGIN_INSTANCE_COLUMNS}`,
    [tenantId, id, w.name, JSON.stringify(w.config), sealSecrets(keys, secretOwner(tenantId, 'plugin_instances', id), w.secrets), Object.keys(w.secrets), w.events],
  );
  return rows[0];
}

export async function deletePluginInstanceRow(db: PoolClient, tenantId: string, id: string): Promise<PluginInstanceRow | undefined> {
  const { rows } = await db.query<PluginInstanceRow>(`DELETE FROM plugin_instances AS p WHERE tenant_id = $1 AND id = $2 RETURNING ${PLUGIN_INSTANCE_COLUMNS}`, [tenantId, id]);
  return rows[0];
}

/** The tenant's plugin instances subscribed to an event (any of its patterns), as notifier integrations are. */
export async function subscribedPluginInstances(db: Db, tenantId: string, patterns: string[]): Promise<Array<{ id: string; name: string; plugin_id: string }>> {
  const { rows } = await db.query<{ id: string; name: string; plugin_id: string }>(
    'SELECT id, name, plugin_id FROM plugin_instances WHERE tenant_id = $1 AND events && $2::text[] ORDER BY created_at, id',
    [tenantId, patterns],
  );
  return rows;
}

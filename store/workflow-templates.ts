import type { TemplateSpec, WorkflowTemplate } from '../domain/templates/model';
import type { Pool, PoolClient } from '../platform/db';

/**
 * Workflow templates and their versions, read by the template API and by
 * whoever starts a run (the run keeps the version it started with). Every
 * version stays: a PUT adds the next one and moves the template's `version`;
 * a delete only marks the template, so runs that use it still read their
 * version.
 */

type Db = Pool | PoolClient;

export const TEMPLATE_COLUMNS = 't.id, t.name, t.description, t.version, t.created_by, t.created_at, t.updated_at';

export type TemplateRow = {
  id: string;
  name: string;
  description: string | null;
  version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

export interface TemplateVersionRow {
  version: number;
  spec: TemplateSpec;
  created_by: string;
  created_at: Date;
}

const iso = (t: Date) => new Date(t).toISOString();

/** A template that is not deleted, at its current version or the one asked for (name and description as that version had them); undefined when either does not exist. */
export async function findTemplate(db: Db, tenantId: string, id: string, version?: number): Promise<(WorkflowTemplate & { latestVersion: number }) | undefined> {
  const { rows } = await db.query<TemplateRow & { spec: TemplateSpec; latest_version: number }>(
    `SELECT ${TEMPLATE_COLUMNS}, t.version AS latest_version, v.version AS version, v.spec FROM workflow_templates t
       JOIN workflow_template_versions v ON v.tenant_id = t.tenant_id AND v.template_id = t.id AND v.version = COALESCE($3::int, t.version)
      WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL`,
    [tenantId, id, version ?? null],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { ...presentTemplateRow(row), name: row.spec.name, description: row.spec.description ?? null, tenantId, spec: row.spec, latestVersion: row.latest_version };
}

/** One version of a template, deleted or not: what a run that started on it reads. */
export async function findTemplateVersion(db: Db, tenantId: string, id: string, version: number): Promise<TemplateSpec | undefined> {
  const { rows } = await db.query<{ spec: TemplateSpec }>('SELECT spec FROM workflow_template_versions WHERE tenant_id = $1 AND template_id = $2 AND version = $3', [
    tenantId,
    id,
    version,
  ]);
  return rows[0]?.spec;
}

/** A template's versions, newest first. */
export async function listTemplateVersions(db: Db, tenantId: string, id: string): Promise<Array<{ version: number; name: string; createdBy: string; createdAt: string }>> {
  const { rows } = await db.query<TemplateVersionRow>(
    'SELECT version, spec, created_by, created_at FROM workflow_template_versions WHERE tenant_id = $1 AND template_id = $2 ORDER BY version DESC LIMIT 1000',
    [tenantId, id],
  );
  return rows.map((r) => ({ version: r.version, name: r.spec.name, createdBy: r.created_by, createdAt: iso(r.created_at) }));
}

export const presentTemplateRow = (r: TemplateRow) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  version: r.version,
  createdBy: r.created_by,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

/** Adds a template at version 1. A live template of the same name (case-insensitive) violates workflow_templates_name_idx. */
export async function insertTemplate(db: PoolClient, tenantId: string, id: string, spec: TemplateSpec, createdBy: string): Promise<void> {
  await db.query(
    `INSERT INTO workflow_templates (tenant_id, id, name, description, version, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, now(), now())`,
    [tenantId, id, spec.name, spec.description ?? null, createdBy],
  );
  await insertVersion(db, tenantId, id, 1, spec, createdBy);
}

/** Adds the next version and makes it current; answers the row as it was before, or undefined when there is no live template. */
export async function addTemplateVersion(db: PoolClient, tenantId: string, id: string, spec: TemplateSpec, createdBy: string): Promise<{ before: TemplateRow; version: number } | undefined> {
  const { rows } = await db.query<TemplateRow>(`SELECT ${TEMPLATE_COLUMNS} FROM workflow_templates t WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL FOR UPDATE`, [tenantId, id]);
  const before = rows[0];
  if (!before) return undefined;
  const version = before.version + 1;
  await db.query('UPDATE workflow_templates SET name = $3, description = $4, version = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    id,
    spec.name,
    spec.description ?? null,
    version,
  ]);
  await insertVersion(db, tenantId, id, version, spec, createdBy);
  return { before, version };
}

/** Marks the template deleted; its versions stay for the runs that use them. */
export async function markTemplateDeleted(db: PoolClient, tenantId: string, id: string): Promise<TemplateRow | undefined> {
  const { rows } = await db.query<TemplateRow>(
    `UPDATE workflow_templates t SET deleted_at = now(), updated_at = now() WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL RETURNING ${TEMPLATE_COLUMNS}`,
    [tenantId, id],
  );
  return rows[0];
}

async function insertVersion(db: PoolClient, tenantId: string, id: string, version: number, spec: TemplateSpec, createdBy: string): Promise<void> {
  await db.query('INSERT INTO workflow_template_versions (tenant_id, template_id, version, spec, created_by, created_at) VALUES ($1, $2, $3, $4, $5, now())', [
    tenantId,
    id,
    version,
    JSON.stringify(spec),
    createdBy,
  ]);
}

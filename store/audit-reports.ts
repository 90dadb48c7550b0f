import type { AuditReportScope } from '../domain/evidence/requests';
import type { AuditReportDocument, AuditReportStatus, ReportSummary, SignedReportManifest } from '../domain/evidence/model';
import type { Pool, PoolClient } from '../platform/db';

/**
 * The audit_reports row: the API inserts it and reads it, the auditReport
 * workflow's activities move it step by step (gathered records, verdicts,
 * rendered files, the signed manifest).
 */

export interface AuditReportProgress {
  step: AuditReportStatus;
  promotions?: number;
  packets?: number;
  flagged?: number;
}

export interface AuditReportRow {
  id: string;
  status: AuditReportStatus;
  scope: AuditReportScope;
  requested_by: string;
  progress: AuditReportProgress;
  summary: ReportSummary | null;
  signature: SignedReportManifest | null;
  error: string | null;
  json_size: number | null;
  pdf_size: number | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

const ROW_COLUMNS = `id, status, scope, requested_by, progress, report->'summary' AS summary, signature, error,
  octet_length(report_json) AS json_size, octet_length(report_pdf) AS pdf_size, created_at, updated_at, completed_at`;

/** A keyed retry inserts nothing: the first request's row stands. */
export async function insertAuditReport(db: Pool | PoolClient, tenantId: string, id: string, scope: AuditReportScope, requestedBy: string): Promise<boolean> {
  const inserted = await db.query(
    `INSERT INTO audit_reports (tenant_id, id, status, scope, requested_by, progress) VALUES ($1, $2, 'queued', $3, $4, $5) ON CONFLICT DO NOTHING`,
    [tenantId, id, JSON.stringify(scope), requestedBy, JSON.stringify({ step: 'queued' })],
  );
  return (inserted.rowCount ?? 0) > 0;
}

export async function findAuditReport(pool: Pool, tenantId: string, id: string): Promise<AuditReportRow | undefined> {
  const { rows } = await pool.query<AuditReportRow>(`SELECT ${ROW_COLUMNS} FROM audit_reports WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0];
}

export async function auditReportFile(pool: Pool, tenantId: string, id: string, format: 'pdf' | 'json'): Promise<Buffer | null> {
  const column = format === 'pdf' ? 'report_pdf' : 'report_json';
  const { rows } = await pool.query<{ file: Buffer | null }>(`SELECT ${column} AS file FROM audit_reports WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0]?.file ?? null;
}

/** What the activities read back: the scope, and the document as far as the steps before have written it. */
export async function auditReportWork(pool: Pool, tenantId: string, id: string): Promise<{ scope: AuditReportScope; status: AuditReportStatus; report: AuditReportDocument | null }> {
  const { rows } = await pool.query<{ scope: AuditReportScope; status: AuditReportStatus; report: AuditReportDocument | null }>(
    'SELECT scope, status, report FROM audit_reports WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
  if (!rows[0]) throw new Error(`Audit report ${id} of tenant ${tenantId} is not in audit_reports`);
  return rows[0];
}

/** One step's write; a report already ready or failed is never moved back by a retried step. */
export async function writeAuditReportStep(
  pool: Pool,
  tenantId: string,
  id: string,
  step: { status: AuditReportStatus; progress: AuditReportProgress; report?: AuditReportDocument; files?: { json: Buffer; pdf: Buffer; signature: SignedReportManifest }; error?: string },
): Promise<void> {
  const finished = step.status === 'ready' || step.status === 'failed';
  await pool.query(
    `UPDATE audit_reports SET status = $3, progress = $4, report = COALESCE($5::jsonb, report),
        report_json = COALESCE($6, report_json), report_pdf = COALESCE($7, report_pdf), signature = COALESCE($8::jsonb, signature),
        error = $9, updated_at = now(), completed_at = CASE WHEN $10 THEN now() ELSE completed_at END
      WHERE tenant_id = $1 AND id = $2 AND status NOT IN ('ready', 'failed')`,
    [
      tenantId,
      id,
      step.status,
      JSON.stringify(step.progress),
      step.report ? JSON.stringify(step.report) : null,
      step.files?.json ?? null,
      step.files?.pdf ?? null,
      step.files ? JSON.stringify(step.files.signature) : null,
      step.error ?? null,
      finished,
    ],
  );
}

import { createHash } from 'node:crypto';
import { auditReportFile, findAuditReport, type AuditReportRow } from '../../../store/audit-reports';
import { iso } from '../../entity-writes';
import { Conflict, NotFound } from '../../errors';
import { requirePermission } from '../../principal';
import { ok } from '../../respond';
import { createRouter } from '../../router';
import { requestAuditReport, settledReport } from './audit-reports.dispatch';
import * as routes from './audit-reports.routes';

/** Audit reports: the API records the request and starts the auditReport workflow; its activities fill the row. */
export function auditReportsRouter() {
  const router = createRouter();

  router.openapi(routes.createReportRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'audit-report:create');
    const id = await requestAuditReport(c, c.req.valid('json'));
    const row = await findAuditReport(c.get('deps').pool, tenantId, id);
    if (!row) throw new Error(`Audit report ${id} was accepted but cannot be read back`);
    const location = `${c.req.path.replace(/\/$/, '')}/${id}`;
    c.header('Location', location);
    return ok(c, present(row, location), 202);
  });

  router.openapi(routes.getReportRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'audit-report:read');
    const { id } = c.req.valid('param');
    const found = await findAuditReport(c.get('deps').pool, tenantId, id);
    if (!found) throw new NotFound(`Audit report ${id} not found`, 'AUDIT_REPORT_NOT_FOUND');
    return ok(c, present(await settledReport(c, tenantId, found), c.req.path.replace(/\/$/, '')));
  });

  router.openapi(routes.downloadReportRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'audit-report:read');
    const { id } = c.req.valid('param');
    const format = c.req.valid('query').format ?? 'pdf';
    const { pool } = c.get('deps');
    const found = await findAuditReport(pool, tenantId, id);
    if (!found) throw new NotFound(`Audit report ${id} not found`, 'AUDIT_REPORT_NOT_FOUND');
    const row = await settledReport(c, tenantId, found);
    const file = row.status === 'ready' ? await auditReportFile(pool, tenantId, id, format) : null;
    if (!file) {
      const why = row.status === 'failed' ? `failed: ${row.error ?? 'no reason recorded'}` : `is ${row.status}, not ready yet; poll GET /audit-reports/${id}`;
      throw new Conflict(`Audit report ${id} ${why}`, 'AUDIT_REPORT_NOT_READY', { status: row.status });
    }
    return c.body(new Uint8Array(file), 200, {
      'Content-Type': format === 'pdf' ? 'application/pdf' : 'application/json',
      'Content-Disposition': `attachment; filename="audit-report-${id}.${format}"`,
      'Content-Length': String(file.length),
      'X-Report-Sha256': createHash('sha256').update(file).digest('hex'),
    });
  });

  return router;
}

function present(row: AuditReportRow, self: string) {
  return {
    id: row.id,
    status: row.status,
    scope: { environmentIds: row.scope.environmentIds, from: row.scope.from, to: row.scope.to, releaseId: row.scope.releaseId ?? null },
    progress: row.progress,
    summary: row.summary,
    signature: row.signature,
    downloads: row.status === 'ready' ? { json: `${self}/download?format=json`, pdf: `${self}/download?format=pdf` } : null,
    error: row.error,
    requestedBy: row.requested_by,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    completedAt: iso(row.completed_at),
  };
}

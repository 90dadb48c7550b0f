import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../deps';
import { evidenceVerificationKeys, readEvidenceKey } from '../../platform/evidence';
import { auditReportWork, writeAuditReportStep } from '../../store/audit-reports';
import { signReportBundle } from './bundle-signature';
import { gatherRecords } from './gather';
import { renderReportPdf } from './render-pdf';
import { verifyReportEvidence } from './verify';

/**
 * The auditReport workflow's steps. Each reads the report's row and writes its
 * result back there, answering only counts: the records never enter history.
 */
export function auditReportActivities(deps: ActivityDeps) {
  const { pool } = deps;
  type Ids = { tenantId: string; reportId: string };

  /** The document the step before wrote; a step scheduled without it is a bug no retry cures. */
  async function gathered({ tenantId, reportId }: Ids) {
    const work = await auditReportWork(pool, tenantId, reportId);
    if (!work.report) throw ApplicationFailure.nonRetryable(`Audit report ${reportId} has no gathered records`, 'AUDIT_REPORT_NOT_GATHERED');
    return work.report;
  }

  return {
    async gatherAuditRecords({ tenantId, reportId }: Ids): Promise<{ promotions: number }> {
      const { scope } = await auditReportWork(pool, tenantId, reportId);
      await writeAuditReportStep(pool, tenantId, reportId, { status: 'gathering', progress: { step: 'gathering' } });
      const report = await gatherRecords(pool, tenantId, reportId, scope, new Date().toISOString());
      await writeAuditReportStep(pool, tenantId, reportId, { status: 'verifying', progress: { step: 'verifying', promotions: report.promotions.length }, report });
      return { promotions: report.promotions.length };
    },

    async verifyAuditEvidence(ids: Ids): Promise<{ packets: number; flagged: number }> {
      const jwks = evidenceVerificationKeys(deps.config);
      const report = await verifyReportEvidence(pool, ids.tenantId, await gathered(ids), jwks);
      const flagged = report.findings.length;
      await writeAuditReportStep(pool, ids.tenantId, ids.reportId, {
        status: 'rendering',
        progress: { step: 'rendering', promotions: report.promotions.length, packets: report.summary.packets, flagged },
        report,
      });
      return { packets: report.summary.packets, flagged };
    },

    async renderAuditReport(ids: Ids): Promise<{ jsonBytes: number; pdfBytes: number }> {
      const report = await gathered(ids);
      const json = Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8');
      const pdf = await renderReportPdf(report);
      const signature = await signReportBundle(readEvidenceKey(deps.config), report, { json, pdf });
      await writeAuditReportStep(pool, ids.tenantId, ids.reportId, {
        status: 'ready',
        progress: { step: 'ready', promotions: report.promotions.length, packets: report.summary.packets, flagged: report.findings.length },
        files: { json, pdf, signature },
      });
      return { jsonBytes: json.length, pdfBytes: pdf.length };
    },

    async failAuditReport({ tenantId, reportId, reason }: Ids & { reason: string }): Promise<void> {
      await writeAuditReportStep(pool, tenantId, reportId, { status: 'failed', progress: { step: 'failed' }, error: reason.slice(0, 2000) });
    },
  };
}

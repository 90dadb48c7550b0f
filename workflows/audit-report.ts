import * as wf from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AuditReportInput, AuditReportOutcome } from './audit-report-messages';
import { SA } from '../domain/search-attributes';

const STEP_OPTIONS: wf.ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
};

const { gatherAuditRecords, verifyAuditEvidence, renderAuditReport, failAuditReport } = wf.proxyActivities<Activities>(STEP_OPTIONS);

/**
 * One audit report (POST /audit-reports): gather the records in scope,
 * re-verify every evidence packet's signature, render and sign the files.
 * Each step reads and writes the report's row; only ids and counts pass
 * through history. A step that still fails after its retries marks the report
 * failed with the reason.
 */
export async function auditReport(input: AuditReportInput): Promise<AuditReportOutcome> {
  const { tenantId, reportId } = input;
  const step = (state: string, details: string) => {
    wf.upsertSearchAttributes([{ key: SA.state, value: state }]);
    wf.setCurrentDetails(details);
  };
  try {
    step('gathering', 'Gathering promotions, approvals, gates, jobs, changes and incidents');
    const gathered = await gatherAuditRecords.executeWithOptions({ ...STEP_OPTIONS, summary: 'Gather the records in scope' }, [{ tenantId, reportId }]);
    step('verifying', `Verifying the evidence of ${gathered.promotions} promotion(s)`);
    const verified = await verifyAuditEvidence.executeWithOptions({ ...STEP_OPTIONS, summary: 'Re-verify every evidence packet' }, [{ tenantId, reportId }]);
    step('rendering', `${verified.flagged} packet(s) flagged; rendering JSON and PDF`);
    await renderAuditReport.executeWithOptions({ ...STEP_OPTIONS, summary: 'Render and sign the report' }, [{ tenantId, reportId }]);
    step('ready', `Ready: ${gathered.promotions} promotion(s), ${verified.flagged} packet(s) flagged`);
    return { status: 'ready', promotions: gathered.promotions, flagged: verified.flagged };
  } catch (err) {
    if (!(err instanceof wf.ActivityFailure)) throw err;
    const reason = err.cause?.message ?? err.message;
    await failAuditReport.executeWithOptions({ ...STEP_OPTIONS, summary: 'Mark the report failed' }, [{ tenantId, reportId, reason }]);
    step('failed', `Failed: ${reason}`);
    return { status: 'failed', promotions: 0, flagged: 0 };
  }
}

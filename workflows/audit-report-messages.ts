import type { SearchAttributePair } from '@temporalio/common';
import { SA } from '../domain/search-attributes';
import { workflowId } from '../domain/workflow-ids';

/** Messages of the audit report's workflow. The API imports these, never the workflow. */

export const AUDIT_REPORT_WORKFLOW_TYPE = 'auditReport';

/** Ids only: the scope and everything gathered live in the audit_reports row. */
export interface AuditReportInput {
  tenantId: string;
  reportId: string;
}

export interface AuditReportOutcome {
  status: 'ready' | 'failed';
  promotions: number;
  flagged: number;
}

export function auditReportWorkflowId(tenantId: string, reportId: string): string {
  return workflowId(tenantId, 'audit-report', reportId);
}

/** A report's search attributes: set at its start, the state moved by the workflow as each step ends. */
export function auditReportSearchAttributesOf(tenantId: string, reportId: string, state: string, releaseId: string | null): SearchAttributePair[] {
  return [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'audit-report' },
    { key: SA.resourceId, value: reportId },
    { key: SA.state, value: state },
    ...(releaseId ? [{ key: SA.release, value: releaseId }] : []),
  ];
}

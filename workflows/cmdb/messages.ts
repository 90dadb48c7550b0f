import type { SearchAttributePair } from '@temporalio/common';
import { SA } from '../../domain/search-attributes';
import { workflowId } from '../../domain/workflow-ids';

/** Messages of the CMDB's one workflow, its bulk job. The API imports these, never the workflow. */

export const CMDB_BULK_WORKFLOW_TYPE = 'cmdbBulk';

export interface CmdbBulkInput {
  tenantId: string;
  jobId: string;
  total: number;
}

export function cmdbBulkWorkflowId(tenantId: string, jobId: string): string {
  return workflowId(tenantId, 'cmdb-bulk', jobId);
}

/** A bulk job's search attributes, set at its start. */
export function cmdbBulkSearchAttributesOf(tenantId: string, jobId: string): SearchAttributePair[] {
  return [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'cmdb-bulk' },
    { key: SA.resourceId, value: jobId },
  ];
}

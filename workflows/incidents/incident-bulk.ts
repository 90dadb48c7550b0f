import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { BULK_ACTIVITY_OPTIONS, runBulkJob } from '../bulk-job';
import type { IncidentBulkInput } from './messages';

const { startBulkJob, applyBulkRecords, finishBulkJob } = wf.proxyActivities<Activities>(BULK_ACTIVITY_OPTIONS);

/** A bulk create or update of incidents (POST /incidents/bulk), on the shared bulk kit (workflows/bulk-job.ts). */
export async function incidentBulk(input: IncidentBulkInput): Promise<{ succeeded: number; failed: number }> {
  return runBulkJob({ start: startBulkJob, apply: applyBulkRecords, finish: finishBulkJob }, input);
}

import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { BULK_ACTIVITY_OPTIONS, runBulkJob } from '../bulk-job';
import type { CmdbBulkInput } from './messages';

const { startCiBulkJob, applyCiBulkRecords, finishCiBulkJob } = wf.proxyActivities<Activities>(BULK_ACTIVITY_OPTIONS);

/** A bulk create or update of configuration items (POST /cmdb/cis/bulk), on the shared bulk kit (workflows/bulk-job.ts). */
export async function cmdbBulk(input: CmdbBulkInput): Promise<{ succeeded: number; failed: number }> {
  return runBulkJob({ start: startCiBulkJob, apply: applyCiBulkRecords, finish: finishCiBulkJob }, input);
}

import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { IncidentBulkInput } from './messages';

const ACTIVITY_OPTIONS: wf.ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
};
const { startBulkJob, applyBulkRecords, finishBulkJob } = wf.proxyActivities<Activities>(ACTIVITY_OPTIONS);

/** Records per activity: small enough to retry cheaply, large enough to keep history short. */
const CHUNK = 10;

/**
 * A bulk create or update of incidents (POST /incidents/bulk). The records
 * wait in Postgres; each chunk's activity applies its records one transaction
 * each, writing a result per record in the same transaction, so a retried
 * chunk never applies a record twice and a bad record fails alone.
 */
export async function incidentBulk(input: IncidentBulkInput): Promise<{ succeeded: number; failed: number }> {
  let done = 0;
  wf.setCurrentDetails(`Bulk job ${input.jobId}: 0/${input.total} records applied`);
  await startBulkJob.executeWithOptions({ ...ACTIVITY_OPTIONS, summary: `Start bulk job ${input.jobId}` }, [{ tenantId: input.tenantId, jobId: input.jobId }]);
  for (let from = 0; from < input.total; from += CHUNK) {
    const to = Math.min(input.total, from + CHUNK);
    await applyBulkRecords.executeWithOptions({ ...ACTIVITY_OPTIONS, summary: `Apply records ${from + 1}-${to} of ${input.total}` }, [
      { tenantId: input.tenantId, jobId: input.jobId, from, to },
    ]);
    done = to;
    wf.setCurrentDetails(`Bulk job ${input.jobId}: ${done}/${input.total} records applied`);
  }
  const counts = await finishBulkJob.executeWithOptions({ ...ACTIVITY_OPTIONS, summary: `Finish bulk job ${input.jobId}` }, [{ tenantId: input.tenantId, jobId: input.jobId }]);
  wf.setCurrentDetails(`Bulk job ${input.jobId}: ${counts.succeeded} succeeded, ${counts.failed} failed`);
  return counts;
}

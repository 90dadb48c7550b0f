import * as wf from '@temporalio/workflow';

/**
 * The bulk job's run, shared by every module with a bulk endpoint (incidents,
 * the CMDB). The records wait in Postgres; each chunk's activity applies its
 * records one transaction each, writing a result per record in the same
 * transaction, so a retried chunk never applies a record twice and a bad
 * record fails alone. The commands (three activity kinds, their order and
 * summaries) are the ones incidentBulk has always issued, so its histories replay.
 */

export const BULK_ACTIVITY_OPTIONS: wf.ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
};

/** Records per activity: small enough to retry cheaply, large enough to keep history short. */
const CHUNK = 10;

type Step<I, O> = wf.ActivityFunctionWithOptions<(input: I) => Promise<O>>;

export interface BulkJobSteps {
  start: Step<{ tenantId: string; jobId: string }, void>;
  apply: Step<{ tenantId: string; jobId: string; from: number; to: number }, { applied: number }>;
  finish: Step<{ tenantId: string; jobId: string }, { succeeded: number; failed: number }>;
}

export interface BulkJobInput {
  tenantId: string;
  jobId: string;
  total: number;
}

export async function runBulkJob(steps: BulkJobSteps, input: BulkJobInput): Promise<{ succeeded: number; failed: number }> {
  const { tenantId, jobId, total } = input;
  wf.setCurrentDetails(`Bulk job ${jobId}: 0/${total} records applied`);
  await steps.start.executeWithOptions({ ...BULK_ACTIVITY_OPTIONS, summary: `Start bulk job ${jobId}` }, [{ tenantId, jobId }]);
  for (let from = 0; from < total; from += CHUNK) {
    const to = Math.min(total, from + CHUNK);
    await steps.apply.executeWithOptions({ ...BULK_ACTIVITY_OPTIONS, summary: `Apply records ${from + 1}-${to} of ${total}` }, [{ tenantId, jobId, from, to }]);
    wf.setCurrentDetails(`Bulk job ${jobId}: ${to}/${total} records applied`);
  }
  const counts = await steps.finish.executeWithOptions({ ...BULK_ACTIVITY_OPTIONS, summary: `Finish bulk job ${jobId}` }, [{ tenantId, jobId }]);
  wf.setCurrentDetails(`Bulk job ${jobId}: ${counts.succeeded} succeeded, ${counts.failed} failed`);
  return counts;
}

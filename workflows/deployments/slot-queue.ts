import * as wf from '@temporalio/workflow';
import { queuedReason } from '../../domain/deployments/progress';
import { workflowId } from '../../domain/workflow-ids';
import { ENTITY_ACTIVITY_OPTIONS, historyFull } from '../entity';
import { orchestrator, type JobRun } from './job-run';
import { environmentSlotFreed } from './messages';

/**
 * The environment's slot queue: one job deploys to an environment at a time.
 * A job takes the slot or waits, visibly queued, for the one before it to
 * signal that it gave the slot back (or for its own poll); a job that ends
 * gives the slot back and wakes the next.
 */

/** A queued job looks at the slot again this often even when no slotFreed signal arrives (one lost with a crashed job). */
const QUEUE_POLL_MS = 10_000;

/** One job per environment: waits, visibly queued, until the slot is this job's; false when it never will be. */
export async function waitForSlot(run: JobRun): Promise<boolean> {
  run.slotRequested = true;
  for (;;) {
    if (run.cancelling !== null) {
      await run.finishCancelled();
      return false;
    }
    run.slotFreed = false;
    const job = run.job!;
    const slot = await orchestrator.acquireEnvironmentSlot.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Take the deployment slot of ${job.environmentName}` }, [
      { tenantId: run.tenantId, environmentId: job.environmentId, jobId: run.jobId },
    ]);
    if (slot.acquired) return true;
    run.waitedInQueue = true;
    const behind = queuedReason(slot.holderJobId, run.job!.environmentName);
    if (run.job!.queuePosition !== slot.position || run.job!.statusReason !== behind) await run.commit({ queuePosition: slot.position, statusReason: behind });
    if (historyFull(run.maxHistoryEvents)) {
      run.continuing = true;
      return false;
    }
    await wf.condition(() => run.slotFreed || run.cancelling !== null, QUEUE_POLL_MS, { summary: behind });
  }
}

export async function releaseSlot(run: JobRun): Promise<void> {
  const { tenantId, jobId, input } = run;
  const { nextJobId } = await orchestrator.releaseEnvironmentSlot.executeWithOptions(
    { ...ENTITY_ACTIVITY_OPTIONS, summary: `Give back the deployment slot of ${run.job?.environmentName ?? input.environmentId}` },
    [{ tenantId, environmentId: input.environmentId, jobId }],
  );
  if (!nextJobId || nextJobId === jobId) return;
  try {
    await wf.getExternalWorkflowHandle(workflowId(tenantId, 'deployment', nextJobId)).signal(environmentSlotFreed);
  } catch {
    // The next job may have ended already; it would find the slot free on its own poll anyway.
  }
}

import * as wf from '@temporalio/workflow';
import { deployedReason, jobProgress } from '../../domain/deployments/progress';
import { planBatches } from '../../domain/deployments/strategy';
import { settleFailures } from './failure-policy';
import type { JobRun } from './job-run';
import { runTasks } from './tasks';
import { historyFull } from '../entity';

/** patched() id of continuing as new between batches. */
export const CONTINUE_BETWEEN_BATCHES = 'deployment-job-continue-between-batches';

/**
 * The all-at-once and rolling strategies: the targets in batches by name (all
 * of them in one, or batchSize at a time), each batch's tasks in parallel,
 * its failures settled by the job's policy before the next batch starts.
 */
export async function deployInBatches(run: JobRun): Promise<void> {
  const { resumed } = run;
  const batches = resumed ? resumed.batches.map((ids) => ids.map((id) => run.targetOf(id))) : planBatches(run.plan!.targets, run.job!.strategy);
  const first = resumed?.next ?? 0;
  if (!resumed) {
    await run.commit({ status: 'running', queuePosition: null, startedAt: run.job!.startedAt ?? run.now(), statusReason: run.input.reason ?? null, batch: { index: 1, count: batches.length } });
  }
  for (let i = first; i < batches.length; i += 1) {
    if (run.cancelling !== null) return run.finishCancelled();
    // Between two batches a full history hands the rest to a new run (~20 events per target: a large job meets
    // Temporal's history limit otherwise). Histories recorded before this took the other path and replay it.
    if (i > first && historyFull(run.maxHistoryEvents) && wf.patched(CONTINUE_BETWEEN_BATCHES)) return run.continueAt(i, batches);
    if (i > 0) await run.commit({ batch: { index: i + 1, count: batches.length } });
    const settled = await runTasks(
      run,
      batches[i].map((target) => ({ target, release: run.plan!.release })),
      'deploy',
      () => 1,
    );
    if (run.cancelling !== null) return run.finishCancelled();
    if (await settleFailures(run, settled.filter((t) => t.status === 'failed'))) return;
  }
  await run.commit({ status: 'deployed', finishedAt: run.now(), statusReason: deployedReason(jobProgress(run.targetIds(), run.tasks()), run.input.reason ?? null) });
}

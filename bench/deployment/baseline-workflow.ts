import * as wf from '@temporalio/workflow';
import type { BaselineOrchestrator, BaselineAgent } from './baseline';

/** One target of a batch and the task queue of the agent that owns it. */
export interface BaselineTarget {
  name: string;
  queue: string;
}

// The deployment job's options: orchestrator activities retried with backoff, an agent task tried once.
const orchestrator = wf.proxyActivities<BaselineOrchestrator>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * The floor for a deployment job: the same activities in the same order and
 * batches as deploymentJob issues them (a task persisted running, the agent's
 * deploy on its own queue, the sticker, the task persisted again, the job
 * persisted; a job write per batch and at the start and end; the plan and
 * the environment's slot), every body a
 * no-op, and nothing else: no plan, slot, progress, search attributes,
 * failure policy or cancellation scope.
 */
export async function baselineDeployment(batches: BaselineTarget[][]): Promise<{ tasks: number; wallMs: number }> {
  await orchestrator.loadPlan();
  await orchestrator.persistJob();
  await orchestrator.acquireSlot();
  // As the job's startedAt and finishedAt: workflow time at its running and its deployed write.
  const startedAt = Date.now();
  await orchestrator.persistJob();
  let tasks = 0;
  for (const [i, batch] of batches.entries()) {
    if (i > 0) await orchestrator.persistJob();
    await Promise.all(batch.map(() => orchestrator.persistTask()));
    await orchestrator.persistJob();
    await Promise.all(
      batch.map(async (target) => {
        const agent = wf.proxyActivities<BaselineAgent>({ taskQueue: target.queue, startToCloseTimeout: '30 minutes', heartbeatTimeout: '10s', retry: { maximumAttempts: 1 } });
        await agent.deployTarget(target.name);
        await orchestrator.recordSticker();
        await orchestrator.persistTask();
        await orchestrator.persistJob();
        tasks += 1;
      }),
    );
  }
  const finishedAt = Date.now();
  await orchestrator.persistJob();
  await orchestrator.releaseSlot();
  return { tasks, wallMs: finishedAt - startedAt };
}

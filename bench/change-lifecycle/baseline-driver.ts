import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { baselineEntity } from './baseline-workflow';
import { approve, BASELINE_WORKFLOW_TYPE, close, complete, create, start, submit, submitCab, type BaselineState } from './baseline-messages';

/** Activities that do nothing, so the baseline pays only Temporal's cost of scheduling them. */
export const baselineActivities = {
  async assess(_id: string): Promise<void> {},
  async persist(_id: string): Promise<void> {},
};
export type BaselineActivities = typeof baselineActivities;

export interface BaselineRunner {
  /** One lifecycle; resolves to the two approve round trips in ms. */
  lifecycle(): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * The baseline workflow on its own worker and task queue, driven straight
 * through the Temporal client: the same updates, in the same order, that the
 * API sends for a normal change.
 */
export async function startBaseline(temporalAddress: string): Promise<BaselineRunner> {
  const taskQueue = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const workerConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./baseline-workflow'),
    activities: baselineActivities,
    // As the orchestrator worker, so both keep every open workflow cached.
    maxCachedWorkflows: 1000,
    shutdownGraceTime: '10s',
  });
  const done = worker.run().finally(() => workerConnection.close().catch(() => undefined));
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: 'default' });

  const expect = (got: BaselineState, want: BaselineState, step: string) => {
    if (got !== want) throw new Error(`baseline ${step}: expected state ${want}, got ${got}`);
  };

  return {
    async lifecycle() {
      const workflowId = `bench:baseline:${randomUUID()}`;
      const startOperation = new WithStartWorkflowOperation<typeof baselineEntity>(BASELINE_WORKFLOW_TYPE, {
        workflowId,
        taskQueue,
        args: [workflowId],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      expect(await client.workflow.executeUpdateWithStart(create, { startWorkflowOperation: startOperation }), 'draft', 'create');
      // A fresh handle per command, as the API derives one from the id on every request.
      const send = async (definition: UpdateDefinition<BaselineState>, want: BaselineState) =>
        expect(await client.workflow.getHandle(workflowId).executeUpdate(definition), want, definition.name);

      await send(submit, 'submitted');
      await send(submitCab, 'cab_review');
      const approveMs: number[] = [];
      for (const want of ['cab_review', 'scheduled'] as const) {
        const t0 = performance.now();
        await send(approve, want);
        approveMs.push(performance.now() - t0);
      }
      await send(start, 'in_progress');
      await send(complete, 'completed');
      await send(close, 'closed');
      return approveMs;
    },
    async close() {
      await connection.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

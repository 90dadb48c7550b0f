import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { promotionBaseline } from './baseline-workflow';
import { approve, create, PROMOTION_BASELINE_TYPE } from './baseline-messages';

/** Activities that do nothing, so the baseline pays only Temporal's cost of scheduling them. */
export const baselineActivities = {
  async load(_id: string): Promise<void> {},
  async persist(_id: string): Promise<void> {},
  async deploy(_id: string): Promise<void> {},
  async sign(_id: string): Promise<void> {},
};
export type BaselineActivities = typeof baselineActivities;

export interface Runner {
  /** One promotion from request to deployed; resolves to the two approve round trips in ms. */
  lifecycle(): Promise<number[]>;
  close(): Promise<void>;
}

/** The baseline on its own worker and task queue, driven straight through the Temporal client. */
export async function startBaseline(temporalAddress: string): Promise<Runner> {
  const taskQueue = `bench-promotion-baseline-${randomUUID().slice(0, 8)}`;
  const workerConnection = await NativeConnection.connect({ address: temporalAddress });
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./baseline-workflow'),
    activities: baselineActivities,
    maxCachedWorkflows: 1000,
    shutdownGraceTime: '10s',
  });
  const done = worker.run().finally(() => workerConnection.close().catch(() => undefined));
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  return {
    async lifecycle() {
      const workflowId = `bench:promotion-baseline:${randomUUID()}`;
      const start = new WithStartWorkflowOperation<typeof promotionBaseline>(PROMOTION_BASELINE_TYPE, { workflowId, taskQueue, args: [workflowId], workflowIdConflictPolicy: 'USE_EXISTING' });
      await client.workflow.executeUpdateWithStart(create, { startWorkflowOperation: start });
      const approveMs: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        await client.workflow.getHandle(workflowId).executeUpdate(approve);
        approveMs.push(performance.now() - t0);
      }
      const outcome = await client.workflow.getHandle(workflowId).result();
      if (outcome !== 'deployed') throw new Error(`baseline ended ${outcome}`);
      return approveMs;
    },
    async close() {
      await connection.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

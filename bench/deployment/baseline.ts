import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { planBatches } from '../../domain/deployments/strategy';
import type { Strategy } from '../../domain/deployments/model';
import type { BaselineTarget } from './baseline-workflow';

/** The baseline's activities: bodies that do nothing, so it pays only Temporal's cost of scheduling them. */
export const baselineOrchestrator = {
  async loadPlan(): Promise<void> {},
  async acquireSlot(): Promise<void> {},
  async releaseSlot(): Promise<void> {},
  async persistJob(): Promise<void> {},
  async persistTask(): Promise<void> {},
  async recordSticker(): Promise<void> {},
};
export type BaselineOrchestrator = typeof baselineOrchestrator;
export const baselineAgent = {
  async deployTarget(_target: string): Promise<void> {},
};
export type BaselineAgent = typeof baselineAgent;

/** As many tasks at once per agent as a real agent runs. */
const AGENT_CONCURRENCY = 20;

export interface BaselineRunner {
  /** Runs one job of this shape; resolves to its wall time in ms, measured as the job's (its running write to its deployed write). */
  job(strategy: Strategy): Promise<number>;
  close(): Promise<void>;
}

/**
 * A worker for the baseline workflow and its orchestrator activities, and one
 * worker per agent queue, in this process: `owners[i]` is the agent (0-based)
 * that owns target `names[i]`, as the real agents split them.
 */
export async function startDeploymentBaseline(temporalAddress: string, names: string[], owners: number[]): Promise<BaselineRunner> {
  const prefix = `bench-deploy-baseline-${randomUUID().slice(0, 8)}`;
  const agents = Math.max(...owners) + 1;
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const workers = [
    await Worker.create({
      connection,
      taskQueue: prefix,
      workflowsPath: require.resolve('./baseline-workflow'),
      activities: baselineOrchestrator,
      maxCachedWorkflows: 100,
    }),
    ...(await Promise.all(
      Array.from({ length: agents }, (_, a) =>
        Worker.create({ connection, taskQueue: `${prefix}-agent-${a}`, activities: baselineAgent, maxConcurrentActivityTaskExecutions: AGENT_CONCURRENCY }),
      ),
    )),
  ];
  const runs = workers.map((w) => w.run());
  const clientConnection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection: clientConnection, namespace: 'default' });
  const targets = names.map((name, i) => ({ id: name, name, queue: `${prefix}-agent-${owners[i]}` }));
  return {
    async job(strategy) {
      const batches: BaselineTarget[][] = planBatches(targets, strategy).map((batch) => batch.map(({ name, queue }) => ({ name, queue })));
      const done: { tasks: number; wallMs: number } = await client.workflow.execute('baselineDeployment', { taskQueue: prefix, workflowId: `${prefix}-${randomUUID()}`, args: [batches] });
      if (done.tasks !== names.length) throw new Error(`the baseline job ran ${done.tasks} tasks, expected ${names.length}`);
      return done.wallMs;
    },
    async close() {
      await clientConnection.close();
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all(runs);
      await connection.close();
    },
  };
}

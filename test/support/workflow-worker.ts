import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { loadConfig } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db';
import { createLogger } from '../../platform/logger';
import { testEnv } from './env';

/**
 * A workflow test's own orchestrator worker: the run's workflow bundle and the
 * real activities against the run's Postgres, on a task queue of its own (so
 * files never take each other's tasks), driven through Temporal directly, with
 * no API in between. Payloads are not encrypted here: these tests read
 * histories and queries with the SDK's plain client.
 */
export interface WorkflowWorker {
  env: TestWorkflowEnvironment;
  pool: Pool;
  taskQueue: string;
  /** Another worker of the same code on a queue of the caller's: stopping it and starting a new one is a worker restart. */
  extraWorker(taskQueue: string): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

export async function startWorkflowWorker(prefix: string): Promise<WorkflowWorker> {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier file in this jest worker
  }
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: testEnv.temporalAddress });
  const pool = createPool(testEnv.databaseUrl, 3);
  const config = loadConfig({ DATABASE_URL: testEnv.databaseUrl, DATA_DIR: testEnv.dataDir, AUTH_JWKS: '{"keys":[]}' });
  const taskQueue = `${prefix}-${randomUUID()}`;
  const create = (queue: string) =>
    Worker.create({
      connection: env.nativeConnection,
      taskQueue: queue,
      workflowBundle: testEnv.workflowBundle,
      activities: createActivities({ pool, log: createLogger('wf-test', 'silent'), config }),
    });
  const worker = await create(taskQueue);
  const running = worker.run();
  return {
    env,
    pool,
    taskQueue,
    async extraWorker(queue: string) {
      const extra = await create(queue);
      const run = extra.run();
      return {
        async stop() {
          extra.shutdown();
          await run;
        },
      };
    },
    async close() {
      worker.shutdown();
      await running;
      await pool.end();
      await env.teardown();
    },
  };
}

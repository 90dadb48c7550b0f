import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from '../platform/config';
import { createPool, runMigrations, type Pool } from '../platform/db';
import { createLogger, type Logger } from '../platform/logger';
import { dataConverterOf } from '../platform/payload-keys';
import { connectionOptions, temporalConnection } from '../platform/temporal-connection';
import { connectClient, ensureSearchAttributes } from '../platform/temporal';
import { SEARCH_ATTRIBUTE_REGISTRATION } from '../domain/search-attributes';
import { createActivities } from '../activities';
import { loadPluginsAtStart } from '../store/plugins-loader';
import { coreLogFilter, PinoTemporalLogger } from './temporal-logger';
import { ensureDashboardSchedule } from './dashboard-schedule';
import { startEndedWorkflowSweep } from './ended-workflow-sweep';
import { bundleWorkflows } from './workflow-bundle';
import { configureEgress } from '../platform/egress';

export interface OrchestratorOptions {
  config: Config;
  log: Logger;
  /** Tests pass the bundle built once per run; otherwise WORKFLOW_BUNDLE's, or one bundled from source at start. */
  workflowBundle?: { codePath: string };
  taskQueue?: string;
  pool?: Pool;
}

export interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** The orchestrator worker: every lifecycle workflow plus the activities they run. */
export async function startOrchestrator(options: OrchestratorOptions): Promise<RunningWorker> {
  const { config, log } = options;
  configureEgress(config.EGRESS_DENY_CIDRS);
  const pool = options.pool ?? createPool(config.DATABASE_URL, 10);
  await loadPluginsAtStart(config, log);
  const connection = await NativeConnection.connect(connectionOptions(temporalConnection(config)));
  const workflowBundle = options.workflowBundle ?? (await loadWorkflowBundle(config, log));
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: options.taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    workflowBundle,
    dataConverter: dataConverterOf(config),
    activities: createActivities({ pool, log, config }),
    // A lifecycle workflow spends its life waiting: keep many cached, shut down quickly.
    maxCachedWorkflows: 1000,
    shutdownGraceTime: '10s',
  });
  // Lazy: a Temporal that is slow to answer delays the first sweep, never the worker's start.
  const client = new Client({ connection: Connection.lazy(connectionOptions(temporalConnection(config))), namespace: config.TEMPORAL_NAMESPACE });
  const sweep = startEndedWorkflowSweep({
    deps: { pool, log, config, client },
    taskQueue: options.taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    intervalMs: config.ENDED_WORKFLOW_SWEEP_INTERVAL,
    log,
  });
  const done = worker.run().finally(async () => {
    sweep.stop();
    await client.connection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    if (!options.pool) await pool.end().catch(() => undefined);
  });
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/**
 * A prebuilt bundle loads at once; bundling from source takes seconds of CPU,
 * which a worker restarted after a crash would spend before it polls again.
 */
async function loadWorkflowBundle(config: Config, log: Logger): Promise<{ codePath: string } | { code: string }> {
  if (config.WORKFLOW_BUNDLE) {
    log.info({ workflowBundle: config.WORKFLOW_BUNDLE }, 'loading the prebuilt workflow bundle');
    return { codePath: config.WORKFLOW_BUNDLE };
  }
  const started = Date.now();
  // Bundled here rather than by Worker.create so webpack's report goes to debug, not into every start-up's log.
  const code = await bundleWorkflows(new PinoTemporalLogger(log, { infoAsDebug: true }));
  log.info({ ms: Date.now() - started }, 'bundled the workflows from source (set WORKFLOW_BUNDLE to a prebuilt bundle to skip this)');
  return { code };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  Runtime.install({
    logger: new PinoTemporalLogger(log, { coreRepeatWindowMs: 60_000 }),
    telemetryOptions: {
      // The native runtime's own lines (poll retries while Temporal is down) come through the logger above as JSON,
      // instead of coloured text on stderr.
      logging: { filter: coreLogFilter(config.LOG_LEVEL), forward: {} },
      metrics: { prometheus: { bindAddress: `0.0.0.0:${config.WORKER_METRICS_PORT}`, countersTotalSuffix: true, useSecondsForDurations: true } },
    },
  });
  // The schema and the search attributes are independent of each other: a restarted worker waits for the slower, not the sum.
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = Date.now();
    return [await work(), Date.now() - started];
  };
  const [[, migrationsMs], [, searchAttributesMs]] = await Promise.all([
    timed(() => runMigrations(config.DATABASE_URL, log)),
    timed(async () => {
      const client = await connectClient({ ...temporalConnection(config), namespace: config.TEMPORAL_NAMESPACE });
      try {
        const added = await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE, SEARCH_ATTRIBUTE_REGISTRATION);
        if (added.length) log.info({ added }, 'registered search attributes');
        await ensureDashboardSchedule(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, intervalMs: config.DASHBOARD_SWEEP_INTERVAL });
      } finally {
        await client.connection.close();
      }
    }),
  ]);
  const [running, workerMs] = await timed(() => startOrchestrator({ config, log }));
  // How long this start took, by phase (the process's own start-up, module loading included, is `processMs`).
  const startup = { processMs: Math.round(process.uptime() * 1000), migrationsMs, searchAttributesMs, workerMs };
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metrics: `http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics`, startup }, 'orchestrator worker running');
  await running.done;
  log.info('orchestrator worker stopped');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}

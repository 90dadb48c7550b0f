import { hostname } from 'node:os';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { AgentApiError } from '../activities/agent/api-client';
import { createHealthCheckActivities } from '../activities/agent/check-target-health';
import { createAgentActivities } from '../activities/agent/deploy-target';
import { HeartbeatLoop } from '../activities/agent/heartbeat-loop';
import { AGENT_USAGE, parseAgentOptions, UsageError, type AgentOptions } from '../activities/agent/options';
import { retryTransient } from '../activities/agent/retry';
import { AgentSession, AgentStartError, type SavedIdentity } from '../activities/agent/session';
import { statePaths } from '../activities/agent/state-files';
import { TargetRecords } from '../activities/agent/target-reports';
import { agentTaskQueue } from '../domain/deployments/model';
import type { AgentActivities } from '../domain/deployments/ports';
import { createLogger, type Logger } from '../platform/logger';
import { coreLogFilter, PinoTemporalLogger } from './temporal-logger';

/**
 * The agent: registers with the API (or reuses its saved credential), heartbeats what its targets run, and runs a
 * Temporal worker on its own task queue `agent-<id>` whose activities are deployTarget and checkTargetHealth. No
 * workflows run here.
 */

export interface RunningAgent {
  identity(): SavedIdentity;
  /** Settles when the agent has stopped; rejects when its worker failed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** How long start-up keeps trying an API that is briefly unavailable before giving up with one line. */
const START_RETRY_MS = 10_000;
/** A running task gets this long to finish when the agent stops; then it is cancelled (its hook stopped). */
const SHUTDOWN_GRACE = '10s';

export async function startAgent(options: AgentOptions, log: Logger): Promise<RunningAgent> {
  const session = new AgentSession(options, log);
  const records = new TargetRecords(statePaths(options.stateDir, options.name).targets);
  await session.open();

  let onRefused: (refusal: Error) => void = () => undefined;
  const heartbeats = new HeartbeatLoop({
    session,
    records,
    log,
    intervalMs: () => options.heartbeatIntervalMs ?? (session.identity?.heartbeatIntervalSeconds ?? 10) * 1000,
    onIdentityRefused: (refusal) => onRefused(refusal),
  });
  // The first heartbeat proves the credential (a refused one ends the agent here) and that the API is reachable.
  try {
    await retryTransient(() => heartbeats.beat(), { deadline: Date.now() + START_RETRY_MS, maxDelayMs: 2_000 });
  } catch (error) {
    if (error instanceof AgentApiError) {
      throw new AgentStartError(error.status === 0 ? error.message : `the API refused the agent's first heartbeat: ${error.status} ${error.code}: ${error.message}`);
    }
    throw error;
  }

  const me = session.identity!;
  const address = options.temporalAddress ?? me.temporal?.address ?? '127.0.0.1:7233';
  const namespace = options.namespace ?? me.temporal?.namespace ?? 'default';
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (error) {
    throw new AgentStartError(`cannot reach Temporal at ${address}: ${(error as Error).message.split('\n')[0]}`);
  }
  const activities: AgentActivities = {
    ...createAgentActivities({ api: session.api, stateDir: options.stateDir, agentName: options.name, records, log }),
    ...createHealthCheckActivities({ stateDir: options.stateDir, agentName: options.name, log }),
  };

  const startWorker = async (identity: SavedIdentity) => {
    const taskQueue = identity.taskQueue || agentTaskQueue(identity.id);
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      activities,
      // Temporal's own form (pid@host), with the agent's name after it for the UI.
      identity: `${process.pid}@${hostname()}/${options.name}`,
      maxConcurrentActivityTaskExecutions: 20,
      shutdownGraceTime: SHUTDOWN_GRACE,
    });
    log.info({ agentId: identity.id, name: identity.name, environmentId: identity.environmentId, taskQueue, temporal: address, namespace, stateFile: session.stateFile }, 'agent running');
    return { worker, running: worker.run() };
  };

  const current = await startWorker(me);
  let stopping = false;
  let refused: Error | undefined;
  let settle!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  const watch = (entry: typeof current) =>
    entry.running.then(
      () => {
        if (entry === current && stopping) settle(refused);
      },
      (error) => {
        if (entry !== current) return;
        log.error({ err: (error as Error).message }, 'agent worker failed');
        void heartbeats.stop();
        settle(error);
      },
    );
  watch(current);

  const stop = async () => {
    if (stopping) return done;
    stopping = true;
    await heartbeats.stop();
    if (current.worker.getState() === 'RUNNING') current.worker.shutdown();
    await current.running.catch(() => undefined);
    await connection.close().catch(() => undefined);
    settle(refused);
    return done;
  };
  // Revoked or deleted: stop polling and end; `done` rejects with the refusal, the one line to print.
  onRefused = (refusal) => {
    refused = refusal;
    void stop().catch(() => undefined);
  };
  heartbeats.start();

  return { identity: () => session.identity!, done, stop };
}

async function main(): Promise<void> {
  let options: AgentOptions;
  try {
    options = parseAgentOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`tollgate agent: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (options.help) {
    console.log(AGENT_USAGE);
    return;
  }
  const level = process.env.LOG_LEVEL ?? 'info';
  const log = createLogger('agent', level);
  Runtime.install({
    // An agent runs activities only: the SDK's notes that it polls for no workflows or Nexus tasks are no news here.
    logger: new PinoTemporalLogger(log, { coreRepeatWindowMs: 60_000, expected: /^No (workflows|Nexus services) registered/ }),
    telemetryOptions: { logging: { filter: coreLogFilter(level), forward: {} } },
  });
  let agent: RunningAgent;
  try {
    agent = await startAgent(options, log);
  } catch (error) {
    if (error instanceof AgentStartError || error instanceof UsageError) {
      console.error(`tollgate agent: ${error.message}`);
      process.exit(error instanceof UsageError ? 2 : 1);
    }
    throw error;
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'agent stopping');
    agent.stop().then(
      () => {
        log.info('agent stopped');
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  await agent.done.catch((error) => {
    console.error(`tollgate agent: ${error instanceof AgentStartError ? '' : 'the worker stopped: '}${(error as Error).message}`);
    process.exit(1);
  });
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`tollgate agent: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

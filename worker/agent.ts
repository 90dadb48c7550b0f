import { AgentApiError } from '../agent/runtime/api-client';
import { createHealthCheckActivities } from '../agent/activities/check-target-health';
import { createAgentActivities } from '../agent/activities/deploy-target';
import { createTrafficActivities } from '../agent/activities/traffic';
import { createScriptActivities } from '../agent/activities/run-script';
import { openRouter } from '../agent/traffic/open-router';
import type { TrafficProvider } from '../agent/traffic/provider';
import { HeartbeatLoop } from '../agent/runtime/heartbeat-loop';
import { AGENT_USAGE, parseAgentOptions, UsageError, type AgentOptions } from '../agent/runtime/options';
import { retryTransient } from '../agent/runtime/retry';
import { AgentSession, AgentStartError, capabilitiesOf, type SavedIdentity } from '../agent/runtime/session';
import { statePaths } from '../agent/runtime/state-files';
import { TargetRecords } from '../agent/runtime/target-reports';
import { WorkChannel } from '../agent/runtime/work-channel';
import { createLogger, type Logger } from '../platform/logger';

/**
 * The agent: registers with the API (or reuses its saved credential), heartbeats what its targets run, and opens
 * its work channel to the API, over which it is handed its tasks (deployTarget, checkTargetHealth, and the traffic
 * tasks of rollouts: setTraffic, readTraffic, routerStats, probeHttp, run against the router it drives with --router; and runScript,
 * a template's script step, only when started with --allow-scripts). It holds its
 * own Tollgate credential and nothing else: no Temporal address, no Temporal access (api/agent-work/relay.ts).
 */

export interface RunningAgent {
  identity(): SavedIdentity;
  /** The connection tasks arrive on. */
  channel: WorkChannel;
  /** Settles when the agent has stopped; rejects with the refusal when its credential was refused. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** How long start-up keeps trying an API that is briefly unavailable before giving up with one line. */
const START_RETRY_MS = 10_000;
/** A running task gets this long to finish when the agent stops; then it is cancelled (its hook stopped). */
const SHUTDOWN_GRACE_MS = 10_000;

export async function startAgent(options: AgentOptions, log: Logger): Promise<RunningAgent> {
  // The router first: its traffic (the last applied spec) is served again before the agent registers or beats.
  let router: TrafficProvider | undefined;
  if (options.router) {
    try {
      router = await openRouter(options.router, options.stateDir, options.name, log);
    } catch (error) {
      throw new AgentStartError(`the traffic router could not be started: ${(error as Error).message}`);
    }
  }
  const session = new AgentSession(options, log, router?.router ?? null);
  const records = new TargetRecords(statePaths(options.stateDir, options.name).targets);
  try {
    await session.open();
  } catch (error) {
    await router?.close().catch(() => undefined);
    throw error;
  }

  let onRefused: (refusal: Error) => void = () => undefined;
  const heartbeats = new HeartbeatLoop({
    session,
    records,
    log,
    intervalMs: () => options.heartbeatIntervalMs ?? (session.identity?.heartbeatIntervalSeconds ?? 10) * 1000,
    router: router?.router ?? null,
    capabilities: capabilitiesOf(options),
    onIdentityRefused: (refusal) => onRefused(refusal),
  });
  // The first heartbeat proves the credential (a refused one ends the agent here) and that the API is reachable.
  try {
    await retryTransient(() => heartbeats.beat(), { deadline: Date.now() + START_RETRY_MS, maxDelayMs: 2_000 });
  } catch (error) {
    await router?.close().catch(() => undefined);
    if (error instanceof AgentApiError) {
      throw new AgentStartError(error.status === 0 ? error.message : `the API refused the agent's first heartbeat: ${error.status} ${error.code}: ${error.message}`);
    }
    throw error;
  }

  const channel = new WorkChannel({
    api: session.api,
    activities: {
      ...createAgentActivities({ api: session.api, stateDir: options.stateDir, agentName: options.name, records, log }),
      ...createHealthCheckActivities({ stateDir: options.stateDir, agentName: options.name, log }),
      ...createTrafficActivities({ router, log }),
      ...createScriptActivities({ api: session.api, stateDir: options.stateDir, allowScripts: options.allowScripts, log }),
    },
    log,
    maxConcurrent: 20,
  });
  channel.start();
  log.info({ agentId: me().id, name: me().name, environmentId: me().environmentId, api: session.api.baseUrl, stateFile: session.stateFile }, 'agent running');

  let stopping = false;
  let refused: Error | undefined;
  let settle!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  const stop = async () => {
    if (stopping) return done;
    stopping = true;
    await heartbeats.stop();
    await channel.stop(SHUTDOWN_GRACE_MS);
    // A router the agent runs stops with it; the next agent starts it again with the last applied spec.
    await router?.close().catch((error) => log.error({ err: (error as Error).message }, 'router: stopping it failed'));
    settle(refused);
    return done;
  };
  // Revoked or deleted: stop taking tasks and end; `done` rejects with the refusal, the one line to print.
  onRefused = (refusal) => {
    refused = refusal;
    void stop().catch(() => undefined);
  };
  heartbeats.start();

  return { identity: () => session.identity!, channel, done, stop };

  function me(): SavedIdentity {
    return session.identity!;
  }
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
  const log = createLogger('agent', process.env.LOG_LEVEL ?? 'info');
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
    console.error(`tollgate agent: ${error instanceof AgentStartError ? '' : 'stopped: '}${(error as Error).message}`);
    process.exit(1);
  });
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`tollgate agent: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

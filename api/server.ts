import { serve, type ServerType } from '@hono/node-server';
import { loadPluginsAtStart } from '../store/plugins-loader';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from '../platform/config';
import { createPool, runMigrations } from '../platform/db';
import { ensureDevKeys } from '../platform/dev-keys';
import { createLogger, type Logger } from '../platform/logger';
import { dataConverterOf } from '../platform/payload-keys';
import { temporalConnection } from '../platform/temporal-connection';
import { TemporalGateway } from '../platform/temporal';
import { FixedWindowLimiter } from '../domain/rate-limit';
import { SharedRateLimiter } from '../store/rate-limit-counters';
import { createApp } from './app';
import { guardConnections } from './connections';
import { createTokenVerifier } from './auth/verifier';
import type { AppDeps } from './context';
import { createMetrics } from './metrics';
import { DeploymentEventHub } from './realtime/hub';
import { AgentWorkRelay } from './agent-work/relay';
import { withQueryToken } from './realtime/query-token';
import { coreLogFilter, PinoTemporalLogger } from '../worker/temporal-logger';
import { configureEgress } from '../platform/egress';

export interface RunningApi {
  url: string;
  port: number;
  deps: AppDeps;
  close(): Promise<void>;
}

export function createDeps(config: Config, log: Logger): AppDeps {
  const pool = createPool(config.DATABASE_URL, 20);
  const dataConverter = dataConverterOf(config);
  return {
    config,
    log,
    pool,
    temporal: new TemporalGateway({ ...temporalConnection(config), namespace: config.TEMPORAL_NAMESPACE, dataConverter }, { log }),
    agentWork: new AgentWorkRelay({ config, pool, log, dataConverter }),
    verifier: createTokenVerifier(config),
    limiter: new FixedWindowLimiter(config.RATE_LIMIT_WINDOW),
    // Replicas of one deployment share its task queue, and so its counters.
    sharedLimiter: new SharedRateLimiter(pool, config.TEMPORAL_TASK_QUEUE, (err) => log.warn({ err }, 'deleting ended rate-limit windows failed')),
    metrics: createMetrics(),
    realtime: new DeploymentEventHub({ databaseUrl: config.DATABASE_URL, log }),
  };
}

/** How long open streams get to say goodbye (close 1001) when the API stops, before their sockets are cut. */
const SOCKET_CLOSE_GRACE_MS = 1_000;

/** Starts the HTTP API; used by the process entry below and by the tests. */
export async function startApi(config: Config, log: Logger = createLogger('api', config.LOG_LEVEL)): Promise<RunningApi> {
  configureEgress(config.EGRESS_DENY_CIDRS);
  const deps = createDeps(config, log);
  await loadPluginsAtStart(config, log);
  const app = createApp(deps);
  // The live streams (api/modules/deployments/streams.ts) upgrade through @hono/node-server's own WebSocket support.
  const sockets = new WebSocketServer({ noServer: true });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve(
      {
        fetch: (request, env) => app.fetch(withQueryToken(request), env),
        websocket: { server: sockets },
        port: config.PORT,
        hostname: config.HOST,
        serverOptions: {
          headersTimeout: config.HTTP_HEADERS_TIMEOUT,
          requestTimeout: config.HTTP_REQUEST_TIMEOUT,
          // Node looks for overdue requests only this often (30 s by default, which would stretch a 10 s timeout to 40 s).
          connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.HTTP_HEADERS_TIMEOUT / 4) || 1_000)),
        },
      },
      () => resolve(s),
    );
    guardConnections(s as Server, { lingerMs: Math.min(5_000, config.HTTP_REQUEST_TIMEOUT || 5_000), log });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    deps,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await closeSockets(sockets);
      await deps.realtime?.close();
      await deps.agentWork?.close();
      await closed;
      await deps.temporal.close();
      await deps.pool.end();
    },
  };
}

/** Upgraded sockets are no longer the HTTP server's to end: each stream is closed (1001, going away), and cut if it lingers. */
async function closeSockets(sockets: WebSocketServer): Promise<void> {
  const open = [...sockets.clients];
  await Promise.all(
    open.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          const cut = setTimeout(() => ws.terminate(), SOCKET_CLOSE_GRACE_MS);
          ws.once('close', () => {
            clearTimeout(cut);
            resolve();
          });
          ws.close(1001, 'server shutting down');
        }),
    ),
  );
  await new Promise<void>((resolve) => sockets.close(() => resolve()));
}

async function main(): Promise<void> {
  let config = loadConfig();
  const log = createLogger('api', config.LOG_LEVEL);
  if (!process.env.AUTH_JWKS_URL?.trim() && !process.env.AUTH_JWKS?.trim()) {
    await ensureDevKeys(config.DATA_DIR);
    config = loadConfig();
    log.warn({ keys: config.DATA_DIR }, 'AUTH_JWKS_URL and AUTH_JWKS are not set: trusting only the local dev key (npm run token); set one of them outside local use');
  }
  // The agent work relay runs Temporal workers here (api/agent-work/relay.ts): their native runtime logs through pino.
  // They relay activities only, so the SDK's note that they poll for no workflows is expected.
  Runtime.install({
    logger: new PinoTemporalLogger(log, { coreRepeatWindowMs: 60_000, expected: /^No (workflows|Nexus services) registered/ }),
    telemetryOptions: { logging: { filter: coreLogFilter(config.LOG_LEVEL), forward: {} } },
  });
  await runMigrations(config.DATABASE_URL, log);
  const api = await startApi(config, log);
  log.info({ url: api.url, docs: `${api.url}/docs` }, 'API listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'API stopping');
    await api.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, dataPaths, loadConfig, type Config } from '../platform/config';
import { temporalConnection } from '../platform/temporal-connection';
import { runMigrations } from '../platform/db';
import { ensureDevKeys } from '../platform/dev-keys';
import { createLogger } from '../platform/logger';
import { TemporalGateway } from '../platform/temporal';
import { startPostmaster } from './stack/postgres';
import { belongsToDataDir, PROJECT_ROOT, stopPid, stopProcess, waitFor } from './stack/processes';
import { recordStack, runningStacks } from './stack/registry';
import { Supervisor, type Running, type ServiceName, type SupervisorEvent } from './stack/supervisor';
import { ensureTemporalCli } from './stack/temporal-cli';
import { startTemporalDevServer, temporalAnswers, temporalLogFile } from './stack/temporal-server';
import { buildDist } from './build';

/**
 * `npm start`: Postgres, the Temporal dev server (+UI), migrations, the
 * orchestrator worker and the API, in that order, each supervised: one that
 * dies is started again with back-off on the same data. SIGINT or SIGTERM to
 * this process stops the API and worker, then Temporal, then Postgres, and
 * exits. Data lives under DATA_DIR, so a second start finds every workflow and
 * row where it left them; DATA_DIR/run/<service>.pid names each live process.
 */
const say = (msg: string) => console.log(`[tollgate] ${msg}`);

/** The order services stop in: nothing is stopped while something that depends on it still runs. */
const STOP_ORDER: ServiceName[][] = [['api', 'worker'], ['temporal'], ['postgres']];

async function main(): Promise<void> {
  const config = loadConfig();
  const paths = dataPaths(config.DATA_DIR);
  mkdirSync(paths.logs, { recursive: true });
  await ensureDevKeys(config.DATA_DIR);

  const other = runningStacks().find((s) => s.dataDir === config.DATA_DIR && s.pid !== process.pid);
  if (other) throw new ConfigError(`npm start is already running on DATA_DIR=${config.DATA_DIR} (pid ${other.pid}, API ${other.apiUrl}); stop it first or use another DATA_DIR`);
  const runDir = path.join(config.DATA_DIR, 'run');
  await stopLeftovers(runDir, config.DATA_DIR);
  const events = createLogger('supervisor', config.LOG_LEVEL);
  const supervisor = new Supervisor(runDir, (event) => report(events, event));
  const api = `http://127.0.0.1:${config.PORT}`;
  const unrecord = recordStack({ pid: process.pid, dataDir: config.DATA_DIR, port: config.PORT, apiUrl: api, startedAt: new Date().toISOString() });

  let stopping = false;
  const shutdown = async (code: number, why: string) => {
    if (stopping) return say(`${why}: already stopping`);
    stopping = true;
    say(`stopping (${why})…`);
    await supervisor.stopAll(STOP_ORDER).catch((err) => say(`stop failed: ${(err as Error).message}`));
    unrecord();
    say('stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('uncaughtException', (err) => {
    say(`unexpected error: ${err.stack ?? err}`);
    void shutdown(1, 'unexpected error');
  });

  // Built once per start, while Postgres and Temporal come up (npm run build: dist/*.js and the workflow bundle): the
  // API and the worker, and every restart of them, run plain JavaScript and load the bundle, compiling nothing.
  const built = buildDist(DIST, QUIET);
  built.catch(() => undefined);

  try {
    let databaseUrl = process.env.DATABASE_URL?.trim() || undefined;
    if (!databaseUrl) {
      let url = '';
      await supervisor.start({
        name: 'postgres',
        start: async () => {
          const postmaster = await startPostmaster({ dataDir: paths.postgres, port: config.PG_PORT, passwordFile: paths.postgresPassword, log: say, detached: true });
          url = postmaster.url;
          return { child: postmaster.child, stop: postmaster.stop };
        },
      });
      databaseUrl = url;
      say(`Postgres ready on 127.0.0.1:${config.PG_PORT} (data in ${paths.postgres})`);
    } else {
      say('Using DATABASE_URL');
    }

    let temporalAddress = process.env.TEMPORAL_ADDRESS?.trim() || undefined;
    let temporalUi = config.TEMPORAL_UI_URL;
    let ownDevServer = false;
    if (!temporalAddress) {
      const port = config.TEMPORAL_PORT;
      const uiPort = config.TEMPORAL_UI_PORT ?? port + 1000;
      temporalAddress = `127.0.0.1:${port}`;
      temporalUi = `http://127.0.0.1:${uiPort}`;
      if (await temporalAnswers(temporalAddress).catch(() => false)) {
        say(`A Temporal server already answers on ${temporalAddress}; using it (and leaving it running, unsupervised).`);
      } else {
        const cli = ensureTemporalCli(say);
        say(`Starting the Temporal dev server (${cli}) with ${paths.temporalDb}`);
        await supervisor.start({
          name: 'temporal',
          start: async () => {
            const server = await startTemporalDevServer({ cli, dbFile: paths.temporalDb, port, uiPort, logFile: temporalLogFile(config.DATA_DIR), detached: true });
            return { child: server.child, stop: server.stop };
          },
        });
        ownDevServer = true;
        say(`Temporal ready on ${temporalAddress}, UI on ${temporalUi}`);
      }
    } else {
      say(`Using TEMPORAL_ADDRESS=${temporalAddress}`);
    }

    const applied = await runMigrations(databaseUrl);
    say(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      DATA_DIR: config.DATA_DIR,
      TEMPORAL_UI_URL: temporalUi,
      WORKFLOW_BUNDLE: process.env.WORKFLOW_BUNDLE?.trim() || path.join(DIST, 'workflow-bundle.js'),
    };
    await built;
    // The dev server renews idle polls every 10 s, so a worker silent for 30 s is gone.
    if (ownDevServer && !process.env.HEALTH_WORKER_STALE_AFTER?.trim()) env.HEALTH_WORKER_STALE_AFTER = '30s';
    const workerStartedAt = Date.now();
    await supervisor.start(nodeService('worker', 'worker.js', env));
    await supervisor.start(nodeService('api', 'api.js', env));

    // The worker takes a few seconds to connect and load the workflows before it polls; ask Temporal rather than the API's /health meanwhile,
    // which would log every not-yet-healthy answer.
    const temporal = new TemporalGateway({ ...temporalConnection({ ...config, TEMPORAL_ADDRESS: temporalAddress }), namespace: config.TEMPORAL_NAMESPACE });
    try {
      const polling = async () => (await temporal.pollers(config.TEMPORAL_TASK_QUEUE)).some((p) => (p.lastAccessAt ?? 0) >= workerStartedAt - 1_000);
      await waitFor('the worker', polling, 180_000, () => '(it has not polled its task queue; its own lines above say why)', () => stopping);
    } finally {
      await temporal.close();
    }
    await waitFor('the API', async () => (await fetch(`${api}/api/v1/health`)).status === 200, 60_000, () => healthHint(api), () => stopping);
    console.log(banner(config, api, temporalUi));
  } catch (err) {
    if (stopping) return;
    console.error(`[tollgate] ${err instanceof ConfigError ? err.message : (err as Error).message}`);
    await shutdown(1, 'start-up failed');
  }
}

const DIST = path.join(PROJECT_ROOT, 'dist');
const noop = () => undefined;
// webpack's report of the bundle; its errors still reach the terminal.
const QUIET = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (message: string) => say(`bundling the workflows: ${message}`) };

/** The API or the worker, compiled (dist/): a Node process in its own process group (Ctrl-C reaches only us; we stop it in order). */
function nodeService(name: ServiceName, entry: string, env: NodeJS.ProcessEnv) {
  return {
    name,
    start: async (): Promise<Running> => {
      const child = spawn(process.execPath, ['--enable-source-maps', path.join(DIST, entry)], { env, stdio: 'inherit', detached: true, cwd: PROJECT_ROOT });
      await spawned(child);
      return { child, stop: () => stopProcess(child, 15_000) };
    },
  };
}

function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
}

/**
 * Processes a previous `npm start` on this DATA_DIR left running when it was
 * killed outright (they would hold the ports and the data): stopped by the PIDs
 * it recorded, if they still belong to this DATA_DIR, in stop order.
 */
async function stopLeftovers(runDir: string, dataDir: string): Promise<void> {
  for (const name of STOP_ORDER.flat()) {
    const file = path.join(runDir, `${name}.pid`);
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && belongsToDataDir(pid, dataDir)) {
      say(`Stopping the ${name} (pid ${pid}) an earlier npm start on this DATA_DIR left running`);
      // SIGINT is Postgres' fast shutdown; SIGTERM would wait for its clients.
      await stopPid(pid, name === 'postgres' ? 'SIGINT' : 'SIGTERM', 30_000);
    }
    rmSync(file, { force: true });
  }
}

function report(log: ReturnType<typeof createLogger>, event: SupervisorEvent): void {
  // `service` names the logger (supervisor) in every line; the supervised one is `process`.
  const { service, pid, ...rest } = event;
  const fields = { process: service, pid, ...rest };
  const seconds = (ms?: number) => `${Math.round((ms ?? 0) / 100) / 10}s`;
  switch (event.event) {
    case 'started':
      return log.info(fields, `${service} started (pid ${pid})`);
    case 'exited':
      return log.warn(fields, `${service} (pid ${pid}) exited (${event.signal ?? `code ${event.code}`}); restarting in ${seconds(event.restartInMs)}`);
    case 'restarted':
      return log.warn(fields, `${service} restarted (pid ${pid})`);
    case 'restart_failed':
      return log.error(fields, `${service} could not be restarted: ${event.error}; trying again in ${seconds(event.restartInMs)}`);
  }
}

function healthHint(api: string): string {
  return `(GET ${api}/api/v1/health did not answer 200; the services' own lines above say why)`;
}

function banner(config: Config, api: string, temporalUi: string): string {
  // A token signed with another DATA_DIR's key is refused; say which one when it is not the default.
  const dataDirPrefix = config.DATA_DIR === path.resolve('.data') ? '' : `DATA_DIR=${shellQuote(config.DATA_DIR)} `;
  return [
    '',
    '  Tollgate is up.',
    `    API          ${api}/api/v1   (StackFlow dialect: ${api}/prod/api)`,
    `    Docs         ${api}/docs     (OpenAPI: ${api}/api/v1/openapi.json)`,
    `    Health       ${api}/api/v1/health`,
    `    Temporal UI  ${temporalUi}`,
    `    Metrics      ${api}/metrics   (worker: http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics)`,
    `    Data         ${config.DATA_DIR}   (process ids in run/; a service that dies is restarted)`,
    '',
    `  Get a token:   export TOKEN=$(${dataDirPrefix}npm run -s token -- --user alice@example.com --tenant acme --roles release-manager)`,
    `  Try it:        curl -H "Authorization: Bearer $TOKEN" ${api}/prod/api/changes`,
    `  Stop:          Ctrl-C, or kill -TERM ${process.pid} (data stays in DATA_DIR for the next start)`,
    '',
  ].join('\n');
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

main().catch((err) => {
  console.error(`[tollgate] ${err instanceof ConfigError ? err.message : err}`);
  process.exit(1);
});

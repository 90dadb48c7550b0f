import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, dataPaths, loadConfig } from '../platform/config';
import { runMigrations } from '../platform/db';
import { ensureDevKeys } from '../platform/dev-keys';
import { ensurePrivateCluster, type PrivateCluster } from './stack/postgres';
import { PROJECT_ROOT, stopProcess, waitFor } from './stack/processes';
import { ensureTemporalCli } from './stack/temporal-cli';
import { startTemporalDevServer, temporalAnswers, temporalLogFile, type DevServer } from './stack/temporal-server';

/**
 * `npm start`: Postgres, the Temporal dev server (+UI), migrations, the
 * orchestrator worker and the API, in that order; Ctrl-C stops what this
 * process started, in reverse. Data lives under DATA_DIR, so a second start
 * finds every workflow and row where it left them.
 */
const say = (msg: string) => console.log(`[tollgate] ${msg}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const paths = dataPaths(config.DATA_DIR);
  mkdirSync(paths.logs, { recursive: true });
  await ensureDevKeys(config.DATA_DIR);

  const stops: Array<() => Promise<void>> = [];
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say('stopping…');
    for (const stop of stops.reverse()) await stop().catch((err) => say(`stop failed: ${(err as Error).message}`));
    say('stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    let databaseUrl = process.env.DATABASE_URL?.trim() || undefined;
    if (!databaseUrl) {
      const cluster: PrivateCluster = await ensurePrivateCluster({ dataDir: paths.postgres, port: config.PG_PORT, passwordFile: paths.postgresPassword, log: say });
      databaseUrl = cluster.url;
      stops.push(() => cluster.stop());
      say(`Postgres ready on 127.0.0.1:${cluster.port} (data in ${paths.postgres})`);
    } else {
      say('Using DATABASE_URL');
    }

    let temporalAddress = process.env.TEMPORAL_ADDRESS?.trim() || undefined;
    let temporalUi = config.TEMPORAL_UI_URL;
    if (!temporalAddress) {
      const port = Number(process.env.TEMPORAL_PORT ?? 7233);
      const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? port + 1000);
      temporalAddress = `127.0.0.1:${port}`;
      temporalUi = `http://127.0.0.1:${uiPort}`;
      if (await temporalAnswers(temporalAddress).catch(() => false)) {
        say(`A Temporal server already answers on ${temporalAddress}; using it (and leaving it running).`);
      } else {
        const cli = ensureTemporalCli(say);
        say(`Starting the Temporal dev server (${cli}) with ${paths.temporalDb}`);
        const server: DevServer = await startTemporalDevServer({ cli, dbFile: paths.temporalDb, port, uiPort, logFile: temporalLogFile(config.DATA_DIR) });
        stops.push(() => server.stop());
        say(`Temporal ready on ${temporalAddress}, UI on ${temporalUi}`);
      }
    } else {
      say(`Using TEMPORAL_ADDRESS=${temporalAddress}`);
    }

    const applied = await runMigrations(databaseUrl);
    say(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');

    const env = { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, DATA_DIR: config.DATA_DIR, TEMPORAL_UI_URL: temporalUi };
    stops.push(supervise('worker', 'worker/orchestrator.ts', env, () => shuttingDown));
    stops.push(supervise('api', 'api/server.ts', env, () => shuttingDown));

    const api = `http://127.0.0.1:${config.PORT}`;
    await waitFor('the API', async () => (await fetch(`${api}/api/v1/health`)).status === 200, 120_000);
    console.log(
      [
        '',
        '  Tollgate is up.',
        `    API          ${api}/api/v1   (StackFlow dialect: ${api}/prod/api)`,
        `    Docs         ${api}/docs     (OpenAPI: ${api}/api/v1/openapi.json)`,
        `    Health       ${api}/api/v1/health`,
        `    Temporal UI  ${temporalUi}`,
        `    Metrics      ${api}/metrics   (worker: http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics)`,
        '',
        '  Get a token:   export TOKEN=$(npm run -s token -- --user alice@example.com --tenant acme --roles release-manager)',
        `  Try it:        curl -H "Authorization: Bearer $TOKEN" ${api}/prod/api/changes`,
        '  Stop:          Ctrl-C (data stays in DATA_DIR for the next start)',
        '',
      ].join('\n'),
    );
  } catch (err) {
    console.error(`[tollgate] ${err instanceof ConfigError ? err.message : (err as Error).message}`);
    await shutdown(1);
  }
}

/** Runs a service as a child process in its own process group, restarting it if it dies unexpectedly. */
function supervise(name: string, entry: string, env: NodeJS.ProcessEnv, stopping: () => boolean): () => Promise<void> {
  let child: ChildProcess;
  let restarts = 0;
  const launch = () => {
    child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, entry)], { env, stdio: 'inherit', detached: true, cwd: PROJECT_ROOT });
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (stopping()) return;
      restarts = Date.now() - startedAt > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 1000 * 2 ** restarts);
      say(`${name} exited (${signal ?? `code ${code}`}); restarting in ${Math.round(delay / 1000)}s`);
      setTimeout(() => !stopping() && launch(), delay).unref();
    });
  };
  launch();
  return () => stopProcess(child!, 15_000);
}

main().catch((err) => {
  console.error(`[tollgate] ${err instanceof ConfigError ? err.message : err}`);
  process.exit(1);
});

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMigrations } from '../platform/db';
import { ensurePrivateCluster, findPostgresBin } from './stack/postgres';
import { freePort, PROJECT_ROOT } from './stack/processes';
import { ensureTemporalCli } from './stack/temporal-cli';
import { startTemporalDevServer } from './stack/temporal-server';

/**
 * `npm test`: typecheck, then the same stack `npm start` runs (Postgres and the
 * Temporal dev server) on free ports in a throwaway directory, then jest with
 * any extra arguments, then teardown. Exits with jest's status.
 */
const say = (msg: string) => console.log(`[test] ${msg}`);

async function main(): Promise<number> {
  const jestArgs = process.argv.slice(2);
  if (!process.env.SKIP_TYPECHECK) {
    say('typechecking…');
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
    if (tsc.status !== 0) return tsc.status ?? 1;
  }

  const cli = ensureTemporalCli(say);
  findPostgresBin(say);
  const root = mkdtempSync(path.join(os.tmpdir(), 'tollgate-test-'));
  // The postgres user must be able to reach its data directory inside.
  chmodSync(root, 0o755);
  const stops: Array<() => Promise<void>> = [];
  let jest: ReturnType<typeof spawn> | undefined;
  const teardown = async () => {
    jest?.kill('SIGTERM');
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (!process.env.KEEP_TEST_DATA) rmSync(root, { recursive: true, force: true });
    else say(`test data kept in ${root}`);
  };
  process.on('SIGINT', () => void teardown().then(() => process.exit(130)));
  process.on('SIGTERM', () => void teardown().then(() => process.exit(143)));

  try {
    const [pgPort, temporalPort] = [await freePort(), await freePort()];
    const pg = await ensurePrivateCluster({ dataDir: path.join(root, 'postgres'), port: pgPort, passwordFile: path.join(root, 'postgres-password'), throwaway: true, log: say });
    stops.push(() => pg.stop());
    const temporal = await startTemporalDevServer({
      cli,
      dbFile: path.join(root, 'temporal.sqlite'),
      port: temporalPort,
      uiPort: 0,
      headless: true,
      logFile: path.join(root, 'temporal.log'),
    });
    stops.push(() => temporal.stop());
    await runMigrations(pg.url);
    say(`stack up: postgres 127.0.0.1:${pg.port}, temporal ${temporal.address}, data ${root}`);

    jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...jestArgs], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        TEST_DATABASE_URL: pg.url,
        TEST_TEMPORAL_ADDRESS: temporal.address,
        TEST_TEMPORAL_CLI: cli,
        TEST_DATA_DIR: root,
      },
    });
    const code: number = await new Promise((resolve) => jest!.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    jest = undefined;
    return code;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[test] ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);

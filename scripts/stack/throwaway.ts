import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMigrations } from '../../platform/db';
import { ensurePrivateCluster, findPostgresBin } from './postgres';
import { freePort } from './processes';
import { ensureTemporalCli } from './temporal-cli';
import { startTemporalDevServer } from './temporal-server';

export interface ThrowawayStack {
  root: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalCli: string;
  /** Stops the dev server and Postgres and removes the directory (unless `keep`). */
  stop(options?: { keep?: boolean }): Promise<void>;
}

/**
 * What `npm test` and the benchmarks run on: a private Postgres and a headless
 * Temporal dev server on free ports in a fresh temporary directory, migrated.
 * If start-up fails half-way, what did start is stopped again.
 */
export async function startThrowawayStack(prefix: string, say: (msg: string) => void): Promise<ThrowawayStack> {
  const temporalCli = ensureTemporalCli(say);
  findPostgresBin(say);
  const root = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  // The postgres user must be able to reach its data directory inside.
  chmodSync(root, 0o755);
  const stops: Array<() => Promise<void>> = [];
  const stop = async (options: { keep?: boolean } = {}) => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    if (!options.keep) rmSync(root, { recursive: true, force: true });
  };
  try {
    const [pgPort, temporalPort] = [await freePort(), await freePort()];
    const pg = await ensurePrivateCluster({ dataDir: path.join(root, 'postgres'), port: pgPort, passwordFile: path.join(root, 'postgres-password'), throwaway: true, log: say });
    stops.push(() => pg.stop());
    const temporal = await startTemporalDevServer({
      cli: temporalCli,
      dbFile: path.join(root, 'temporal.sqlite'),
      port: temporalPort,
      uiPort: 0,
      headless: true,
      logFile: path.join(root, 'temporal.log'),
    });
    stops.push(() => temporal.stop());
    await runMigrations(pg.url);
    say(`stack up: postgres 127.0.0.1:${pg.port}, temporal ${temporal.address}, data ${root}`);
    return { root, databaseUrl: pg.url, temporalAddress: temporal.address, temporalCli, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

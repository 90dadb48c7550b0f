import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMigrations } from '../../platform/db';
import { ensurePrivateCluster, findPostgresBin } from '../../scripts/stack/postgres';
import { freePort } from '../../scripts/stack/processes';
import { ensureTemporalCli } from '../../scripts/stack/temporal-cli';
import { startTemporalDevServer } from '../../scripts/stack/temporal-server';

export interface Stack {
  root: string;
  databaseUrl: string;
  temporalAddress: string;
}

/**
 * Everything the bench started, stopped newest first. `run()` may be called by
 * the normal exit path and by Ctrl-C at once: both wait for the same teardown.
 */
export class Teardown {
  private stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  private running?: Promise<void>;

  constructor(private readonly say: (msg: string) => void) {}

  /** Registers a stop; the returned function runs it now (once) for phases that end early. */
  add(name: string, stop: () => Promise<void>): () => Promise<void> {
    const entry = { name, stop };
    this.stops.push(entry);
    return async () => {
      const i = this.stops.indexOf(entry);
      if (i < 0) return;
      this.stops.splice(i, 1);
      await stop();
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const { name, stop } of this.stops.splice(0).reverse()) {
        await stop().catch((err) => this.say(`stopping ${name} failed: ${(err as Error).message}`));
      }
    })();
    return this.running;
  }
}

/** The same throwaway stack `npm test` runs: private Postgres and a headless Temporal dev server on free ports. */
export async function startStack(teardown: Teardown, say: (msg: string) => void): Promise<Stack> {
  const cli = ensureTemporalCli(say);
  findPostgresBin(say);
  const root = mkdtempSync(path.join(os.tmpdir(), 'tollgate-bench-'));
  // The postgres user must be able to reach its data directory inside.
  chmodSync(root, 0o755);
  teardown.add('temp dir', async () => rmSync(root, { recursive: true, force: true }));

  const [pgPort, temporalPort] = [await freePort(), await freePort()];
  const pg = await ensurePrivateCluster({ dataDir: path.join(root, 'postgres'), port: pgPort, passwordFile: path.join(root, 'postgres-password'), throwaway: true, log: say });
  teardown.add('postgres', () => pg.stop());
  const temporal = await startTemporalDevServer({
    cli,
    dbFile: path.join(root, 'temporal.sqlite'),
    port: temporalPort,
    uiPort: 0,
    headless: true,
    logFile: path.join(root, 'temporal.log'),
  });
  teardown.add('temporal dev server', () => temporal.stop());
  await runMigrations(pg.url);
  say(`stack up: postgres 127.0.0.1:${pg.port}, temporal ${temporal.address}, data ${root}`);
  return { root, databaseUrl: pg.url, temporalAddress: temporal.address };
}

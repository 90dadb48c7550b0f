import { freePort } from '../../scripts/stack/processes';
import type { TestApp } from './app';
import { testEnv } from './env';
import { spawnNode, waitForOutput, type Spawned } from './processes';

/**
 * Another API process beside a test app (a replica): the same Postgres,
 * Temporal, task queue and token key, on its own port. `argv` runs it: the
 * TypeScript entry through tsx, or a compiled one.
 */
export async function startApiReplica(app: TestApp, argv: string[], env: Record<string, string> = {}): Promise<{ proc: Spawned; url: string }> {
  const { d: _private, ...publicJwk } = app.signer.jwk;
  const port = await freePort();
  const proc = spawnNode(argv, {
    ...env,
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: app.config.TEMPORAL_TASK_QUEUE,
    DATA_DIR: testEnv.dataDir,
    AUTH_JWKS: JSON.stringify({ keys: [{ ...publicJwk, use: 'sig' }] }),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
  await waitForOutput(proc, /API listening/, 90_000);
  return { proc, url: `http://127.0.0.1:${port}` };
}

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { freePort, PROJECT_ROOT, startLogged, stopProcess, waitFor } from '../../scripts/stack/processes';
import { Client } from './load';
import type { Stack } from '../change-lifecycle/stack';

/** The API's Postgres pool size (api/server.ts); the bare server gets the same. */
export const POOL_SIZE = 20;

export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface Signer {
  jwks: string;
  token(user: string, tenant: string): Promise<string>;
}

/** A key of the bench's own, so tokens are minted once and the API trusts nothing else. */
export async function benchSigner(issuer = 'tollgate-dev', audience = 'tollgate'): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    jwks: JSON.stringify({ keys: [jwk] }),
    token: (user, tenant) =>
      new SignJWT({ user_id: user, tenant_id: tenant, roles: ['viewer'], permissions: [], email: user })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(user)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey),
  };
}

/**
 * Starts `script` (a .ts entry point) as a child node process through tsx, its
 * output in `logFile`, and waits until `readyPath` answers 200.
 */
/** The last lines of a log, for an error message: the stack's directory is removed on the way out. */
function tail(file: string, lines = 25): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
}

async function startNode(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  readyPath: string,
  nodeFlags: string[],
  root = PROJECT_ROOT,
  workerLog?: string,
): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startLogged(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, script)], logFile, {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
  });
  const probe = new Client(url);
  try {
    await waitFor(
      name,
      async () => child.exitCode !== null || (await probe.send(readyPath, {})).status === 200,
      180_000,
      () => `${logFile} ends:\n${tail(logFile)}${workerLog && existsSync(workerLog) ? `\n${workerLog} ends:\n${tail(workerLog)}` : ''}`,
    );
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${tail(logFile)}`);
  } catch (err) {
    await stopProcess(child);
    throw err;
  } finally {
    probe.close();
  }
  return { url, pid: child.pid!, stop: () => stopProcess(child, 20_000) };
}

/**
 * The API as `npm run api` runs it (own process, default log level, access log
 * to a file), limits raised so saturation is not 429s. `root` may be another
 * checkout of the project (with node_modules), to measure an older API on the same stack.
 */
export function startApiProcess(stack: Stack, signer: Signer, options: { profileDir?: string; root?: string }): Promise<Server> {
  return startNode(
    'the API',
    'api/server.ts',
    {
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      HOST: '127.0.0.1',
      DATA_DIR: stack.root,
      AUTH_JWKS: signer.jwks,
      AUTH_JWKS_URL: '',
      LOG_LEVEL: 'info',
      RATE_LIMIT_USER: '1000000',
      RATE_LIMIT_TENANT: '1000000',
    },
    path.join(stack.root, 'api.log'),
    '/api/v1/health',
    options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [],
    options.root,
    // Health waits for the worker: when the API never turns healthy, the worker's log says why.
    path.join(stack.root, 'worker.log'),
  );
}

/**
 * The orchestrator worker, as `npm run worker` runs it: health reports the API
 * degraded while no worker polls its task queue. It idles during the bench.
 */
export async function startWorkerProcess(stack: Stack): Promise<Server> {
  const logFile = path.join(stack.root, 'worker.log');
  const child = startLogged(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'worker/orchestrator.ts')], logFile, {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      DATA_DIR: stack.root,
      WORKER_METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    },
  });
  return { url: '', pid: child.pid!, stop: () => stopProcess(child, 20_000) };
}

export function startBareProcess(stack: Stack, tenant: string): Promise<Server> {
  return startNode(
    'the bare Hono server',
    'bench/api-read/bare-server.ts',
    { DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, BENCH_TENANT: tenant, BENCH_POOL_SIZE: String(POOL_SIZE) },
    path.join(stack.root, 'bare.log'),
    '/health',
    [],
  );
}

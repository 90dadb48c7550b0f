import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JWK } from 'jose';
import { dataPaths, privateClusterUrl } from '../../platform/config';
import { mintToken } from '../../platform/dev-keys';
import { belongsToDataDir, freePort, isAlive, portInUse, PROJECT_ROOT } from '../../scripts/stack/processes';
import { SERVICE_NAMES, type ServiceName } from '../../scripts/stack/supervisor';

/** The four processes `npm start` supervises, named as in `DATA_DIR/run/<name>.pid`. */
export const SERVICES = SERVICE_NAMES;
export type Service = ServiceName;

export interface StackPorts {
  PORT: number;
  PG_PORT: number;
  TEMPORAL_PORT: number;
  TEMPORAL_UI_PORT: number;
  WORKER_METRICS_PORT: number;
}

export interface StopResult {
  /** `npm start` exited by itself after one SIGTERM and every port it opened is closed. */
  clean: boolean;
  exitCode: number | null;
  openPorts: string[];
  /** Processes we had to SIGKILL because SIGTERM did not stop them. */
  killed: string[];
}

export interface LocalStack {
  dataDir: string;
  ports: StackPorts;
  apiUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  /** The PID `npm start` wrote for a service, when the file exists and names a live process of this stack. */
  pidOf(service: Service): number | undefined;
  token(user: string, tenant: string, roles: string[]): Promise<string>;
  /** The end of `npm start`'s output, for failure messages. */
  tail(chars?: number): string;
  stop(): Promise<StopResult>;
}

export interface LocalStackOptions {
  /** Extra environment for `npm start` and the services it runs. */
  env?: Record<string, string>;
  /** Keep DATA_DIR after stopping (its path is printed). */
  keep?: boolean;
  /** Where `npm start`'s whole output goes (it outlives DATA_DIR). */
  logFile: string;
  startTimeoutMs?: number;
  say: (msg: string) => void;
}

const OUTPUT_LIMIT = 256 * 1024;
const running = new Set<() => Promise<StopResult>>();

/** Stops every stack this process started and has not stopped yet (for Ctrl-C). */
export async function stopAllStacks(): Promise<void> {
  await Promise.all([...running].map((stop) => stop()));
}

/**
 * Runs scripts/start.ts exactly as `npm start` does (node --import tsx) on free
 * ports with a throwaway DATA_DIR, and waits for its "Tollgate is up" banner.
 * If start-up fails, whatever did start is stopped again.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tollgate-faults-'));
  // The private cluster runs as the postgres user, which must reach its directory inside.
  chmodSync(dataDir, 0o755);
  const ports: StackPorts = {
    PORT: await freePort(),
    PG_PORT: await freePort(),
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    WORKER_METRICS_PORT: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warn',
    ...options.env,
    DATA_DIR: dataDir,
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts/start.ts')], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  writeFileSync(options.logFile, '');
  const collect = (chunk: Buffer) => {
    appendFileSync(options.logFile, chunk);
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  options.say(`npm start (pid ${child.pid}) with DATA_DIR=${dataDir}, API port ${ports.PORT}; its output goes to ${options.logFile}`);

  const tail = (chars = 4000) => output.slice(-chars);
  const belongs = (pid: number) => belongsToDataDir(pid, dataDir);
  const pidOf = (service: Service) => {
    const pid = readPidFile(path.join(dataDir, 'run', `${service}.pid`));
    return pid !== undefined && belongs(pid) ? pid : undefined;
  };
  let stopping: Promise<StopResult> | undefined;
  const stop = () => {
    stopping ??= stopLocalStack(child, exited, dataDir, ports, pidOf, options).finally(() => running.delete(stop));
    return stopping;
  };
  running.add(stop);

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 300_000);
    while (!/Tollgate is up/.test(output)) {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}) before it was up:\n${tail()}`);
      if (Date.now() > deadline) throw new Error(`npm start was not up within ${Math.round((options.startTimeoutMs ?? 300_000) / 1000)} s:\n${tail()}`);
      await sleep(250);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const authKey: JWK = JSON.parse(readFileSync(dataPaths(dataDir).authPrivateKey, 'utf8'));
  return {
    dataDir,
    ports,
    apiUrl: `http://127.0.0.1:${ports.PORT}`,
    databaseUrl: privateClusterUrl(dataDir, ports.PG_PORT),
    temporalAddress: `127.0.0.1:${ports.TEMPORAL_PORT}`,
    pidOf,
    token: (user, tenant, roles) => mintToken(authKey, { user, tenant, roles, email: user, ttlSeconds: 6 * 3600, issuer: 'tollgate-dev', audience: 'tollgate' }),
    tail,
    stop,
  };
}

/**
 * SIGTERM to the `npm start` PID — what a process manager sends — then every
 * port must close. Anything still running after that is this stack's and is
 * SIGKILLed by PID, so a failed run never leaves processes behind.
 */
async function stopLocalStack(
  child: ChildProcess,
  exited: Promise<number | null>,
  dataDir: string,
  ports: StackPorts,
  pidOf: (service: Service) => number | undefined,
  options: LocalStackOptions,
): Promise<StopResult> {
  // Read before stopping: the supervisor may remove the files on its way out.
  const known = new Map<string, number>();
  const remember = () => {
    for (const service of SERVICES) {
      const pid = pidOf(service);
      if (pid !== undefined) known.set(service, pid);
    }
    const postmaster = readPidFile(path.join(dataDir, 'postgres', 'postmaster.pid'));
    if (postmaster !== undefined && belongsToDataDir(postmaster, dataDir)) known.set('postmaster', postmaster);
  };
  remember();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exitCode = await Promise.race([exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000)))]);
  clearTimeout(timer);
  const openPorts = await waitPortsClosed(ports, 20_000);
  const killed: string[] = [];
  if (exitCode === 'timeout' || openPorts.length) {
    remember();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      killed.push(`npm start (${child.pid})`);
    }
    for (const [name, pid] of known) {
      if (isAlive(pid) && belongsToDataDir(pid, dataDir)) {
        process.kill(pid, 'SIGKILL');
        killed.push(`${name} (${pid})`);
      }
    }
    if (killed.length) options.say(`SIGTERM did not stop everything; killed ${killed.join(', ')}`);
    await waitPortsClosed(ports, 20_000);
  }
  if (options.keep) options.say(`data kept in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
  return { clean: exitCode !== 'timeout' && openPorts.length === 0, exitCode: exitCode === 'timeout' ? null : exitCode, openPorts, killed };
}

async function waitPortsClosed(ports: StackPorts, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open: string[] = [];
    for (const [name, port] of Object.entries(ports)) if (await portInUse(port)) open.push(`${name}=${port}`);
    if (open.length === 0 || Date.now() > deadline) return open;
    await sleep(250);
  }
}

export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0].trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, fchownSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PRIVATE_CLUSTER_DB, PRIVATE_CLUSTER_USER } from '../../platform/config';
import { isRoot, run, which } from './processes';

export interface PrivateCluster {
  url: string;
  port: number;
  startedByUs: boolean;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

/** Directory holding initdb/pg_ctl; installs Debian's package when missing and we are root. */
export function findPostgresBin(log: (msg: string) => void = console.log): string {
  const found = locate();
  if (found) return found;
  if (isRoot() && which('apt-get')) {
    log('PostgreSQL server binaries not found; installing Debian package "postgresql"…');
    run('apt-get', ['update', '-q']);
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'postgresql'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    const installed = locate();
    if (installed) return installed;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them (Debian/Ubuntu: apt-get install postgresql; ' +
      'macOS: brew install postgresql) or set DATABASE_URL to a running Postgres.',
  );
}

function locate(): string | undefined {
  const initdb = which('initdb');
  if (initdb && which('pg_ctl')) return path.dirname(initdb);
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

export interface ClusterOptions {
  dataDir: string;
  port: number;
  passwordFile: string;
  /** Throwaway clusters trade durability for speed. */
  throwaway?: boolean;
  log?: (msg: string) => void;
}

/**
 * Runs a private cluster under `dataDir`, owned by the `postgres` user when we
 * are root (initdb and postgres refuse to run as root). Reuses a cluster that is
 * already running there, and then leaves it running on stop().
 */
export async function ensurePrivateCluster(options: ClusterOptions): Promise<PrivateCluster> {
  const log = options.log ?? console.log;
  const { bin, asUser, pgCtl, dir } = initCluster(options.dataDir, log);

  const running = statusRunning(pgCtl, dir, asUser);
  if (!running) {
    const settings = [`-p ${options.port}`, `-k ${dir}`, "-c listen_addresses='127.0.0.1'", '-c max_connections=200'];
    if (options.throwaway) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
    run(pgCtl, ['start', '-D', dir, '-w', '-t', '60', '-l', path.join(dir, 'server.log'), '-o', settings.join(' ')], { asUser });
  } else {
    log(`Postgres is already running in ${dir}; reusing it (it will be left running).`);
  }
  const port = running ? runningPort(dir) : options.port;

  const password = readOrCreatePassword(options.passwordFile);
  await bootstrapRoleAndDatabase(dir, port, password);

  return {
    url: `postgres://${PRIVATE_CLUSTER_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${PRIVATE_CLUSTER_DB}`,
    port,
    startedByUs: !running,
    async stop() {
      // Leave alone a cluster that was running before we came.
      if (running) return;
      try {
        run(pgCtl, ['stop', '-D', dir, '-m', 'fast', '-w', '-t', '60'], { asUser });
      } catch (err) {
        log(`Stopping Postgres failed: ${(err as Error).message}`);
      }
    },
  };
}

function initCluster(dir: string, log: (msg: string) => void): { bin: string; asUser?: string; pgCtl: string; dir: string } {
  const bin = findPostgresBin(log);
  const asUser = isRoot() ? SUPERUSER : undefined;
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (asUser) chownToPostgres(dir);
    log(`Initialising a private Postgres cluster in ${dir}`);
    run(path.join(bin, 'initdb'), ['-D', dir, '-U', SUPERUSER, '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--no-locale'], { asUser });
  }
  return { bin, asUser, pgCtl: path.join(bin, 'pg_ctl'), dir };
}

export interface Postmaster {
  child: ChildProcess;
  url: string;
  port: number;
  /** Fast shutdown (SIGINT), escalating if the server does not stop. */
  stop(): Promise<void>;
}

/**
 * Runs the private cluster's postmaster as a direct child of this process (not
 * daemonised by pg_ctl), so a supervisor sees it die and the child's PID is the
 * postmaster's. A postmaster already running in `dataDir` (left by an earlier
 * run that was killed) is stopped first: only one process may own the cluster.
 */
export async function startPostmaster(options: ClusterOptions & { detached?: boolean }): Promise<Postmaster> {
  const log = options.log ?? console.log;
  const { bin, asUser, pgCtl, dir } = initCluster(options.dataDir, log);
  if (statusRunning(pgCtl, dir, asUser)) {
    log(`A Postgres server is already running in ${dir}; stopping it to run it under supervision`);
    run(pgCtl, ['stop', '-D', dir, '-m', 'fast', '-w', '-t', '60'], { asUser });
  }
  const ids = asUser ? { uid: Number(run('id', ['-u', asUser]).trim()), gid: Number(run('id', ['-g', asUser]).trim()) } : {};
  const logFile = path.join(dir, 'server.log');
  const out = openSync(logFile, 'a');
  // pg_ctl (which npm test's throwaway clusters use) opens this file as the postgres user.
  if (ids.uid !== undefined) fchownSync(out, ids.uid, ids.gid!);
  const settings = ['-c', "listen_addresses=127.0.0.1", '-c', 'max_connections=200'];
  if (options.throwaway) settings.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  let child: ChildProcess;
  try {
    child = spawn(path.join(bin, 'postgres'), ['-D', dir, '-p', String(options.port), '-k', dir, ...settings], {
      ...ids,
      cwd: dir,
      detached: options.detached ?? false,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const escalate = setTimeout(() => child.kill('SIGQUIT'), 60_000);
    const kill = setTimeout(() => child.kill('SIGKILL'), 75_000);
    await exited;
    clearTimeout(escalate);
    clearTimeout(kill);
  };
  try {
    await waitForConnections(dir, options.port, child, logFile);
    const password = readOrCreatePassword(options.passwordFile);
    await bootstrapRoleAndDatabase(dir, options.port, password);
    return {
      child,
      port: options.port,
      url: `postgres://${PRIVATE_CLUSTER_USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${PRIVATE_CLUSTER_DB}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForConnections(socketDir: string, port: number, child: ChildProcess, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.signalCode ?? `code ${child.exitCode}`}) before accepting connections: ${lastLogLine(logFile)}`);
    }
    const client = new pg.Client({ host: socketDir, port, user: SUPERUSER, database: 'postgres', connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${timeoutMs / 1000}s: ${lastLogLine(logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function lastLogLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return lines.filter((l) => /FATAL|PANIC|ERROR/.test(l)).pop() ?? lines.pop() ?? '';
  } catch {
    return '';
  }
}

function statusRunning(pgCtl: string, dir: string, asUser?: string): boolean {
  try {
    run(pgCtl, ['status', '-D', dir], { asUser });
    return true;
  } catch {
    return false;
  }
}

function runningPort(dir: string): number {
  // postmaster.pid line 4 is the port the running server listens on.
  const lines = readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
  return Number(lines[3]);
}

function chownToPostgres(dir: string): void {
  const uid = Number(run('id', ['-u', SUPERUSER]).trim());
  const gid = Number(run('id', ['-g', SUPERUSER]).trim());
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function bootstrapRoleAndDatabase(socketDir: string, port: number, password: string): Promise<void> {
  const admin = new pg.Client({ host: socketDir, port, user: SUPERUSER, database: 'postgres' });
  await admin.connect();
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [PRIVATE_CLUSTER_USER]);
    const escaped = password.replace(/'/g, "''");
    await admin.query(
      role.rowCount
        ? `ALTER ROLE ${PRIVATE_CLUSTER_USER} WITH LOGIN PASSWORD '${escaped}'`
        : `CREATE ROLE ${PRIVATE_CLUSTER_USER} WITH LOGIN PASSWORD '${escaped}'`,
    );
    const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [PRIVATE_CLUSTER_DB]);
    if (!db.rowCount) await admin.query(`CREATE DATABASE ${PRIVATE_CLUSTER_DB} OWNER ${PRIVATE_CLUSTER_USER}`);
  } finally {
    await admin.end();
  }
}

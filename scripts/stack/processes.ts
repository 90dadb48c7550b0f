import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function which(command: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; asUser?: string } = {}): string {
  const [cmd, argv] = options.asUser ? ['runuser', ['-u', options.asUser, '--', command, ...args]] : [command, args];
  const result = spawnSync(cmd, argv, { encoding: 'utf8', env: options.env ?? process.env, cwd: options.cwd });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/**
 * Starts a long-running child whose output goes straight to a log file (its own
 * descriptor, not a pipe through us), so its logging never depends on this process.
 */
export function startLogged(command: string, args: string[], logFile: string, options: SpawnOptions = {}): ChildProcess {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  try {
    return spawn(command, args, { ...options, stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
}

/** Stops one process we started, by PID: SIGTERM, then SIGKILL after a grace period. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, onFail?: () => string, givenUp?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (givenUp?.()) throw new Error(`gave up waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)}s${onFail ? `\n${onFail()}` : ''}`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A dead child nobody has reaped yet still takes signals; it is not running.
  return !/^\d+ \(.*\) Z/.test(readProc(pid, 'stat') ?? '');
}

/** Whether a live PID is one of a local stack's processes: its command line or environment names the DATA_DIR. */
export function belongsToDataDir(pid: number, dataDir: string): boolean {
  if (!isAlive(pid)) return false;
  const cmdline = readProc(pid, 'cmdline') ?? '';
  const environ = readProc(pid, 'environ') ?? '';
  return cmdline.includes(dataDir) || environ.split('\0').includes(`DATA_DIR=${dataDir}`);
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Signals a process that is not our child and waits (polling) until it is gone, escalating to SIGKILL. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from '../../platform/logger';

/** What the agent needs to run a router process of its own: liveness, polling, whole-file writes, its log's tail. */

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** How the agent runs a router of its own (haproxy, nginx). */
export interface ManagedRouterOptions {
  bin: string;
  listen: string;
  /** The directory the agent owns for this router (config, pid file, socket, logs, last spec). */
  dir: string;
  log: Logger;
}

export function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The soft stop first (running requests finish), then SIGTERM if the process lingers. */
export async function stopProcess(pid: number | null, soft: NodeJS.Signals): Promise<boolean> {
  if (!pid || !alive(pid)) return false;
  process.kill(pid, soft);
  if (!(await until(() => !alive(pid), 5_000))) {
    process.kill(pid, 'SIGTERM');
    await until(() => !alive(pid), 5_000);
  }
  return true;
}

/**
 * Starts `bin` detached, in its own process group, output to `outFile`: traffic outlives an agent that crashes.
 * The answer tells whether (and how) it has exited since.
 */
export function spawnDetached(bin: string, args: string[], outFile: string): () => string | null {
  const out = openSync(outFile, 'a');
  let exited: string | null = null;
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, out] });
    child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
    child.once('error', (err) => (exited = err.message));
    child.unref();
  } finally {
    closeSync(out);
  }
  return () => exited;
}

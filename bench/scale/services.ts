import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/stack/processes';

/** A Tollgate process (API or worker) run the way `npm start` runs it, so its memory is its own. */
export interface Service {
  name: string;
  child: ChildProcess;
  pid: number;
  tail(chars?: number): string;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 128 * 1024;

export async function startService(name: string, entry: string, env: Record<string, string>, ready: (output: string) => boolean | Promise<boolean>, timeoutMs: number): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, entry)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const tail = (chars = 3000) => output.slice(-chars);
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before it was ready:\n${tail()}`);
    if (await Promise.resolve(ready(output)).catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop(2_000);
      throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { name, child, pid: child.pid!, tail, stop };
}

/** Resident set size of a live process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const mib = (bytes?: number) => (bytes === undefined ? '—' : `${Math.round(bytes / 2 ** 20)} MiB`);

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where each running `npm start` says which DATA_DIR it serves, so helpers run
 * from another shell (npm run token) sign with the key that stack trusts
 * instead of guessing from their own environment.
 */
export interface StackRecord {
  pid: number;
  dataDir: string;
  port: number;
  apiUrl: string;
  startedAt: string;
}

export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(env.XDG_RUNTIME_DIR?.trim() || os.tmpdir(), `tollgate-${uid}`, 'stacks');
}

/** Records this process's stack; the returned function removes the record again. */
export function recordStack(record: StackRecord, dir = registryDir()): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${record.pid}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2), { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

/** The stacks whose `npm start` is still alive; records left by one that was killed are removed. */
export function runningStacks(dir = registryDir()): StackRecord[] {
  if (!existsSync(dir)) return [];
  const found: StackRecord[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const file = path.join(dir, name);
    let record: StackRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (isAlive(record.pid)) found.push(record);
    else rmSync(file, { force: true });
  }
  return found;
}

/** Alive and still an `npm start` (a recycled PID is something else by now). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive, but another user's.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('start.ts');
  } catch {
    return true;
  }
}

export type KeyChoice = { dataDir: string; reason: string } | { error: string };

/**
 * Which DATA_DIR's dev key a token should be signed with: an explicit DATA_DIR
 * wins; else the running stack (the one on `port` when there are several);
 * else the default directory, but only when a key already exists there.
 */
export function chooseDataDir(options: {
  explicitDataDir?: string;
  defaultDataDir: string;
  port: number;
  stacks: StackRecord[];
  hasKey: (dataDir: string) => boolean;
}): KeyChoice {
  const { explicitDataDir, defaultDataDir, port, stacks, hasKey } = options;
  const missing = (dir: string, why: string) => ({
    error: `No dev signing key in ${dir}/keys (${why}). Start the stack with \`npm start\` (it creates the key), or set DATA_DIR to the directory your \`npm start\` uses.`,
  });
  if (explicitDataDir) {
    return hasKey(explicitDataDir) ? { dataDir: explicitDataDir, reason: `DATA_DIR=${explicitDataDir}` } : missing(explicitDataDir, 'from DATA_DIR');
  }
  const onPort = stacks.filter((s) => s.port === port);
  const chosen = onPort.length === 1 ? onPort[0] : stacks.length === 1 ? stacks[0] : undefined;
  if (chosen) {
    const reason = `the DATA_DIR of npm start pid ${chosen.pid}, API ${chosen.apiUrl}`;
    return hasKey(chosen.dataDir) ? { dataDir: chosen.dataDir, reason } : missing(chosen.dataDir, reason);
  }
  if (stacks.length > 1) {
    return {
      error:
        `Several npm start stacks are running and none serves PORT=${port}; set DATA_DIR (or PORT) to pick one:\n` +
        stacks.map((s) => `  DATA_DIR=${s.dataDir}  (pid ${s.pid}, API ${s.apiUrl})`).join('\n'),
    };
  }
  return hasKey(defaultDataDir)
    ? { dataDir: defaultDataDir, reason: `the default DATA_DIR; no running npm start was found` }
    : missing(defaultDataDir, 'the default DATA_DIR; no running npm start was found');
}

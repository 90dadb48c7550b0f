import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The agent's files under its state dir: `<name>.json` (identity and credential, 0600), `<name>.targets.json`
 * (what it knows about its targets), `<name>.hooks/` (the process groups of the hooks each agent process runs),
 * `work/<target>` (each target's hook work dir) and `artifacts/` (per task).
 */
export const statePaths = (stateDir: string, agentName: string) => {
  const base = safeFileName(agentName);
  return {
    identity: path.join(stateDir, `${base}.json`),
    targets: path.join(stateDir, `${base}.targets.json`),
    hooks: path.join(stateDir, `${base}.hooks`),
    workDir: (targetName: string) => path.join(stateDir, 'work', safeFileName(targetName)),
    artifactsRoot: path.join(stateDir, 'artifacts'),
  };
};

/** A name as one path segment: no separators, no dot-dot, nothing a shell or a file system chokes on. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned || '_';
}

export function readJsonFile<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${file} is not valid JSON; remove it (or fix it) and start again`);
  }
}

/** Written whole or not at all (a crash mid-write leaves the previous file), readable by the owner only. */
export function writeJsonFile(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

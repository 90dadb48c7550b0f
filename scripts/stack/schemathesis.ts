import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { which } from './processes';

/** Pinned so a run today and a run next month generate the same cases for the same seed. */
export const SCHEMATHESIS_VERSION = '4.32.5';

const CACHE_ROOT = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tollgate');
export const SCHEMATHESIS_VENV = path.join(CACHE_ROOT, `venv-schemathesis-${SCHEMATHESIS_VERSION}`);
const READY_MARK = '.tollgate-ready';
const LOCK_STALE_MS = 15 * 60_000;

/**
 * The schemathesis CLI from PyPI, in a virtual environment kept per machine
 * (made once, reused by every later run). A half-made environment (an install
 * that was killed) has no ready mark and is made again. Returns the CLI's path.
 */
export async function ensureSchemathesis(log: (msg: string) => void = console.log, venv = SCHEMATHESIS_VENV): Promise<string> {
  const cli = path.join(venv, 'bin', 'schemathesis');
  if (existsSync(path.join(venv, READY_MARK)) && existsSync(cli)) return cli;
  const release = await lock(`${venv}.lock`);
  try {
    // Another run may have finished the install while we waited for the lock.
    if (existsSync(path.join(venv, READY_MARK)) && existsSync(cli)) return cli;
    const python = process.env.TOLLGATE_PYTHON ?? which('python3');
    if (!python) throw new Error('python3 is needed to run schemathesis (the contract test); install Python 3.9+ with its venv module, or set TOLLGATE_PYTHON');
    log(`Installing schemathesis ${SCHEMATHESIS_VERSION} into ${venv} (once per machine)…`);
    rmSync(venv, { recursive: true, force: true });
    mkdirSync(path.dirname(venv), { recursive: true });
    step(python, ['-m', 'venv', venv], 'python3 -m venv (on Debian: apt-get install python3-venv)');
    step(path.join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], `pip install schemathesis==${SCHEMATHESIS_VERSION}`);
    if (!existsSync(cli)) throw new Error(`pip installed schemathesis but ${cli} is missing`);
    writeFileSync(path.join(venv, READY_MARK), `${SCHEMATHESIS_VERSION}\n`);
    return cli;
  } finally {
    release();
  }
}

function step(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60_000 });
  if (result.status !== 0) {
    throw new Error(`${what} failed (exit ${result.status ?? result.signal}):\n${(result.stderr || result.stdout || String(result.error ?? '')).slice(-4000)}`);
  }
}

/** A directory as a lock between concurrent test runs on one machine; a lock older than an install can take is stale. */
async function lock(dir: string): Promise<() => void> {
  mkdirSync(path.dirname(dir), { recursive: true });
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(dir);
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for ${dir} (another run installing schemathesis?)`);
      else await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

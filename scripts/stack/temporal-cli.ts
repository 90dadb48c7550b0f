import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, which } from './processes';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export interface CliLocations {
  /** The project's own, git-ignored bin directory. */
  projectBin: string;
  /** Built binaries are also kept per machine so a fresh clone does not rebuild for minutes. */
  machineCache: string;
  which: (command: string) => string | undefined;
}

export const DEFAULT_LOCATIONS: CliLocations = {
  projectBin: path.join(PROJECT_ROOT, '.tools', 'bin'),
  machineCache: path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tollgate', `temporal-${TEMPORAL_CLI_VERSION}`),
  which,
};

/**
 * Finds the Temporal CLI: on PATH, else the project's own build, else builds the
 * pinned release with `go install` (from the Go module proxy; nothing is downloaded
 * as a binary). Fails with one message saying how to get it otherwise.
 */
export function ensureTemporalCli(log: (msg: string) => void = console.log, where: CliLocations = DEFAULT_LOCATIONS): string {
  const onPath = where.which('temporal');
  if (onPath) return onPath;
  const local = path.join(where.projectBin, 'temporal');
  if (existsSync(local)) return local;
  const cached = path.join(where.machineCache, 'temporal');
  if (!existsSync(cached)) {
    const go = where.which('go');
    if (!go) {
      throw new Error(
        'The Temporal CLI is not on PATH and Go is not installed to build it.\n' +
          `Install it (https://docs.temporal.io/cli#install) or install Go and rerun; the project builds ${TEMPORAL_CLI_VERSION} itself with go install.`,
      );
    }
    log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (once per machine; a few minutes on a cold Go cache)…`);
    const staging = `${where.machineCache}.partial-${process.pid}`;
    mkdirSync(staging, { recursive: true });
    const result = spawnSync(go, ['install', '-trimpath', '-ldflags=-s -w', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (result.status !== 0) throw new Error(`go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION} failed (exit ${result.status})`);
    mkdirSync(where.machineCache, { recursive: true });
    renameSync(path.join(staging, 'temporal'), cached);
    rmSync(staging, { recursive: true, force: true });
  }
  mkdirSync(where.projectBin, { recursive: true });
  copyFileSync(cached, local);
  chmodSync(local, 0o755);
  return local;
}

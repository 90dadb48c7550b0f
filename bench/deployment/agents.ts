import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/stack/processes';

/** An agent process, run as `npm run agent` runs it, owning the targets it names. */
export interface AgentProcess {
  name: string;
  child: ChildProcess;
  tail(chars?: number): string;
  /** SIGTERM, then SIGKILL after the grace period; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

export function startAgent(options: { api: string; token: string; name: string; environmentId: string; targets: string[]; stateDir: string }): AgentProcess {
  mkdirSync(options.stateDir, { recursive: true });
  const args = [
    '--import', 'tsx', path.join(PROJECT_ROOT, 'worker', 'agent.ts'),
    '--api', options.api,
    '--token', options.token,
    '--name', options.name,
    '--environment', options.environmentId,
    '--targets', options.targets.join(','),
    '--state-dir', options.stateDir,
  ];
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT / 2);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name: options.name,
    child,
    tail: (chars = 3000) => output.slice(-chars),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

import { spawn } from 'node:child_process';

export type StopSignal = 'SIGTERM' | 'SIGKILL';

export interface RunCommandOptions {
  /** Run with `sh -c`, so hooks are written the way a shell user writes them. */
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr as they arrive, decoded as UTF-8 (a character split across reads is kept whole). */
  onOutput?: (text: string) => void;
  /** Aborting stops the command: SIGTERM to its process group, then SIGKILL after graceMs. */
  signal?: AbortSignal;
  graceMs: number;
  /** Stops the command the same way when it runs longer than this. */
  timeoutMs?: number;
  /** Told before each signal is sent, so the task log can say what happened. */
  onStopSignal?: (signal: StopSignal) => void;
}

export interface CommandResult {
  exitCode: number | null;
  /** The signal that ended the shell, if one did. */
  signal: NodeJS.Signals | null;
  /** Set when it was stopped: SIGTERM when that sufficed within the grace period, else SIGKILL. */
  stoppedBy: StopSignal | null;
  timedOut: boolean;
  /** The command could not be started at all (a missing work dir, no sh). */
  spawnError: string | null;
  pid: number | null;
}

/** Told of every command as it starts (its process group) and as it ends: hook-registry.ts records them on disk. */
export interface CommandTracker {
  started(pgid: number, command: string, cwd: string): () => void;
}

let tracker: CommandTracker | undefined;

/** Every runCommand in this process reports to `next` from now on (the agent sets one at start; tests may not). */
export function trackCommandsWith(next: CommandTracker | undefined): void {
  tracker = next;
}

/** After the shell exits, how long its output pipes may stay open (a child it left running in the background holds them). */
const PIPE_DRAIN_MS = 1_000;

/**
 * Runs one command in a process group of its own (detached), so stopping it reaches every process it started,
 * not only the shell. A process the command deliberately moved to a new session (setsid) is out of reach by design:
 * that is how a hook leaves a service running.
 */
export function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('sh', ['-c', options.command], { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ exitCode: null, signal: null, stoppedBy: null, timedOut: false, spawnError: (error as Error).message, pid: null });
      return;
    }
    const pid = child.pid ?? null;
    const untrack = pid === null ? undefined : tracker?.started(pid, options.command, options.cwd);
    let stoppedBy: StopSignal | null = null;
    let timedOut = false;
    let exited = false;
    let killTimer: NodeJS.Timeout | undefined;
    let exitWaiter: (() => void) | undefined;
    let spawnError: string | null = null;

    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => options.onOutput?.(text));
      stream.on('error', () => undefined);
    }

    const signalGroup = (sig: StopSignal) => {
      if (pid === null) return;
      try {
        process.kill(-pid, sig);
      } catch {
        // ESRCH: the whole group is gone already.
      }
    };

    const stop = () => {
      if (stoppedBy || exited) return;
      stoppedBy = 'SIGTERM';
      options.onStopSignal?.('SIGTERM');
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => {
        if (exited) return;
        stoppedBy = 'SIGKILL';
        options.onStopSignal?.('SIGKILL');
        signalGroup('SIGKILL');
      }, options.graceMs);
    };

    const onAbort = () => stop();
    if (options.signal?.aborted) queueMicrotask(stop);
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs)
        : undefined;

    child.once('error', (error) => {
      spawnError = error.message;
      if (pid === null || child.exitCode !== null) finish(null, null);
    });

    const finish = (code: number | null, sig: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      untrack?.();
      clearTimeout(timeout);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // A stopped command's stragglers (children that ignored SIGTERM) must not outlive it.
      if (stoppedBy) signalGroup('SIGKILL');
      const drained = new Promise<void>((r) => (exitWaiter = r));
      const cap = setTimeout(() => exitWaiter?.(), PIPE_DRAIN_MS);
      void drained.then(() => {
        clearTimeout(cap);
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ exitCode: code, signal: sig, stoppedBy, timedOut, spawnError, pid });
      });
      if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) exitWaiter?.();
    };

    child.once('exit', (code, sig) => finish(code, sig));
    child.once('close', () => exitWaiter?.());
  });
}

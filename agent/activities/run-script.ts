import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { SCRIPT_OUTPUT_NAME, type ScriptArtifact, type ScriptTaskInput, type ScriptTaskResult } from '../../domain/script-task';
import type { Logger } from '../../platform/logger';
import { ARTIFACT_NAME } from '../hooks/artifacts';
import { runCommand } from '../hooks/hook-runner';
import type { AgentApiClient } from '../runtime/api-client';
import { retryTransient } from '../runtime/retry';
import { safeFileName } from '../runtime/state-files';
import type { TaskContext } from '../runtime/work-channel';

export interface ScriptDeps {
  api: Pick<AgentApiClient, 'appendScriptLines' | 'uploadScriptArtifact'>;
  stateDir: string;
  /** The operator's opt-in (--allow-scripts): without it the agent runs no template's command. */
  allowScripts: boolean;
  log: Logger;
}

/** Read whole into memory to upload; the API refuses more than its ARTIFACT_MAX_BYTES anyway. */
const LARGEST_ARTIFACT = 64 * 1024 * 1024;
const MAX_OUTPUTS = 50;
const FLUSH_EVERY_MS = 300;
const BATCH = 500;

/**
 * A template's `script` step on this agent's host: the command under `sh -c`
 * in a work dir of its own, its output lines shipped as the step's log, the
 * `name=value` lines it writes to $TOLLGATE_OUTPUT as its outputs, the files
 * it lists as its artifacts. Cancelling the step (the run cancelled, its
 * timeout) stops the command's process group: SIGTERM, then SIGKILL.
 *
 * Who may run a command here: only an agent its operator started with
 * --allow-scripts runs any (otherwise the task fails SCRIPTS_NOT_ALLOWED and
 * the command never starts); tasks reach an agent only over its own work
 * channel, for steps of its own environment. The command sees none of the
 * agent's own settings (TOLLGATE_* variables, its registration token).
 */
export function createScriptActivities(deps: ScriptDeps) {
  return {
    async runScript(input: ScriptTaskInput, ctx?: TaskContext): Promise<ScriptTaskResult> {
      if (!deps.allowScripts) {
        throw ApplicationFailure.create({ type: 'SCRIPTS_NOT_ALLOWED', message: 'this agent was not started with --allow-scripts: it runs no template commands', nonRetryable: true });
      }
      const deliveryId = ctx?.deliveryId;
      if (!deliveryId) throw ApplicationFailure.create({ type: 'NO_DELIVERY', message: 'a script runs only as a task handed over the work channel', nonRetryable: true });
      const signal = ctx?.cancellationSignal ?? new AbortController().signal;
      const workDir = path.join(deps.stateDir, 'scripts', safeFileName(`${input.runId}-${input.nodeId}-${input.itemIndex}-${input.attempt}`));
      await rm(workDir, { recursive: true, force: true });
      await mkdir(workDir, { recursive: true });
      const outputFile = path.join(workDir, '.tollgate-output');
      const lines = new LineShipper(deps.api, deliveryId, input.logCapLines, deps.log);
      try {
        ctx?.heartbeat({ stage: 'running', command: input.command.slice(0, 200) });
        const result = await runCommand({
          command: input.command,
          cwd: workDir,
          env: scriptEnvironment(input, workDir, outputFile),
          onOutput: (text) => lines.write('stdout', text),
          signal,
          graceMs: input.cancelGraceMs,
          onStopSignal: (sig) => lines.note(`[tollgate] the step was cancelled: ${sig} sent to the command`),
        });
        lines.end();
        if (result.stoppedBy || signal.aborted) {
          await lines.close();
          throw new CancelledFailure('the script step was cancelled', [{ stoppedBy: result.stoppedBy ?? 'SIGTERM', exitCode: result.exitCode }]);
        }
        const outputs = await readOutputs(outputFile, (line) => lines.note(line));
        const errors: string[] = [];
        if (result.spawnError) errors.push(`the command could not be started: ${result.spawnError}`);
        const artifacts = await uploadArtifacts(deps, deliveryId, workDir, input.artifacts, signal, (line) => lines.note(line), errors);
        lines.note(`[tollgate] exit code ${result.exitCode ?? `none (${result.signal ?? 'not started'})`}`);
        await lines.close();
        return { exitCode: result.exitCode, outputs, artifacts, error: errors.length ? errors.join('; ') : null };
      } finally {
        await lines.close();
        await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      }
    },
  };
}

export function scriptEnvironment(input: ScriptTaskInput, workDir: string, outputFile: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // The agent's own settings (its token, its API, its state dir) are not the command's to read.
  for (const [name, value] of Object.entries(base)) if (!name.startsWith('TOLLGATE_')) env[name] = value;
  Object.assign(env, input.env, {
    TOLLGATE_OUTPUT: outputFile,
    TOLLGATE_WORK_DIR: workDir,
    TOLLGATE_RUN_ID: input.runId,
    TOLLGATE_NODE_ID: input.nodeId,
    TOLLGATE_ITEM_INDEX: String(input.itemIndex),
    TOLLGATE_ATTEMPT: String(input.attempt),
  });
  return env;
}

/** `name=value` lines; anything else is named in the log and skipped. */
async function readOutputs(file: string, note: (line: string) => void): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const outputs: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    const name = at > 0 ? line.slice(0, at).trim() : '';
    if (!SCRIPT_OUTPUT_NAME.test(name)) {
      note(`[tollgate] output line skipped: ${JSON.stringify(line.slice(0, 80))} is not name=value with a name of letters, digits and _`);
      continue;
    }
    if (!(name in outputs) && Object.keys(outputs).length >= MAX_OUTPUTS) {
      note(`[tollgate] output ${name} skipped: at most ${MAX_OUTPUTS} outputs`);
      continue;
    }
    outputs[name] = line.slice(at + 1).slice(0, 4_096);
  }
  return outputs;
}

async function uploadArtifacts(deps: ScriptDeps, deliveryId: string, workDir: string, listed: string[], signal: AbortSignal, note: (line: string) => void, errors: string[]): Promise<ScriptArtifact[]> {
  const stored: ScriptArtifact[] = [];
  for (const item of listed) {
    const file = path.resolve(workDir, item);
    const name = path.basename(file);
    // A listed path names a file the command made, never one elsewhere on the host.
    if (!file.startsWith(workDir + path.sep)) {
      errors.push(`artifact ${item} is outside the script's work dir`);
      note(`[tollgate] artifact ${item} not stored: only files under the script's work dir ($TOLLGATE_WORK_DIR) are uploaded`);
      continue;
    }
    const stat = await lstat(file).catch(() => undefined);
    if (!stat?.isFile()) {
      errors.push(`artifact ${item} was not produced`);
      note(`[tollgate] artifact ${item} not stored: no such regular file`);
      continue;
    }
    if (!ARTIFACT_NAME.test(name) || stat.size > LARGEST_ARTIFACT) {
      errors.push(`artifact ${item} cannot be stored`);
      note(`[tollgate] artifact ${item} not stored: ${stat.size > LARGEST_ARTIFACT ? `${stat.size} bytes is more than the agent uploads` : 'names may use only A-Z a-z 0-9 . _ - (at most 128)'}`);
      continue;
    }
    try {
      const bytes = await readFile(file);
      const artifact = await retryTransient(() => deps.api.uploadScriptArtifact(deliveryId, name, bytes, signal), { signal, deadline: Date.now() + 30_000 });
      stored.push({ name: artifact.name, size: artifact.size, sha256: artifact.sha256 });
      note(`[tollgate] artifact ${name} stored (${artifact.size} bytes, sha256 ${artifact.sha256})`);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      errors.push(`artifact ${item} not stored`);
      note(`[tollgate] artifact ${item} not stored: ${(error as Error).message}`);
    }
  }
  return stored;
}

/**
 * Output as numbered lines, sent in batches while the command runs. The API
 * stores each number once, so a batch sent again after a lost answer lands
 * once; past the cap the rest is counted, and one line says how much was dropped.
 */
class LineShipper {
  private partial = '';
  private pending: Array<{ stream: 'stdout' | 'stderr'; text: string }> = [];
  private next = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly api: ScriptDeps['api'],
    private readonly deliveryId: string,
    private readonly cap: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  write(stream: 'stdout' | 'stderr', text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(stream, line.replace(/\r$/, ''));
  }

  /** The command has ended: a last line without its newline is a line too. */
  end(): void {
    if (this.partial) this.push('stdout', this.partial);
    this.partial = '';
  }

  /** A line of the agent's own, kept even past the cap. */
  note(text: string): void {
    this.pending.push({ stream: 'stderr', text });
  }

  private push(stream: 'stdout' | 'stderr', text: string): void {
    if (this.next + this.pending.length >= this.cap) {
      this.dropped++;
      return;
    }
    this.pending.push({ stream, text: text.slice(0, 16_384) });
  }

  private flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      while (this.pending.length) {
        const lines = this.pending.slice(0, BATCH);
        const from = this.next;
        try {
          await retryTransient(() => this.api.appendScriptLines(this.deliveryId, { from, lines }), { deadline: Date.now() + 15_000, maxDelayMs: 2_000 });
        } catch (error) {
          // The lines are the step's telemetry, not its outcome: a refusal drops them, with one line in the agent's log.
          this.log.warn({ err: (error as Error).message, deliveryId: this.deliveryId }, 'script output lines could not be stored');
        }
        this.pending.splice(0, lines.length);
        this.next = from + lines.length;
      }
    });
    return this.chain;
  }

  async close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    clearInterval(this.timer);
    if (this.dropped) this.note(`[tollgate] … ${this.dropped} lines of output dropped (the step keeps at most ${this.cap})`);
    await this.flush();
  }
}

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { AgentTaskInput, AgentTaskResult, TaskError } from '../../domain/deployments/model';
import type { Logger } from '../../platform/logger';
import { AgentApiError, type AgentApiClient } from '../runtime/api-client';
import { uploadArtifacts } from '../hooks/artifacts';
import { runHealthCheck, type HealthCheckOutcome } from '../hooks/health-check';
import { hookEnvironment } from '../hooks/hook-env';
import { runCommand, type StopSignal } from '../hooks/hook-runner';
import { LogShipper } from '../hooks/log-shipper';
import { retryTransient } from '../runtime/retry';
import { safeFileName, statePaths } from '../runtime/state-files';
import type { TargetRecords } from '../runtime/target-reports';
import type { TaskContext } from '../runtime/work-channel';

export interface AgentActivityDeps {
  api: Pick<AgentApiClient, 'claim' | 'appendLog' | 'uploadArtifact'>;
  stateDir: string;
  agentName: string;
  records: TargetRecords;
  log: Logger;
  /** How often a task heartbeats to Temporal (default 1 s; the SDK throttles what it sends to the heartbeat timeout). */
  heartbeatEveryMs?: number;
}

export const DEPLOY_INTERRUPTED_MESSAGE = 'the hook already ran for this attempt and was interrupted; retry the target to run it again';

/** `ctx`: the work channel's (worker/agent.ts); Temporal's own when run as a plain activity (the tests). */
export function createAgentActivities(deps: AgentActivityDeps): { deployTarget: (input: AgentTaskInput, ctx?: TaskContext) => Promise<AgentTaskResult> } {
  const lock = perTargetLock();
  return { deployTarget: (input, ctx) => deployTarget(deps, lock, input, ctx ?? Context.current()) };
}

type Outcome = Pick<AgentTaskResult, 'outcome'> & Partial<Pick<AgentTaskResult, 'exitCode' | 'healthChecks' | 'error' | 'alreadyClaimed'>>;

interface Task {
  input: AgentTaskInput;
  deps: AgentActivityDeps;
  signal: AbortSignal;
  shipper: LogShipper;
  workDir: string;
  artifactsDir: string;
  log: Logger;
  /** What the task is doing, for heartbeat details and the cancellation line. */
  progress: { stage: string };
}

/** A hook stopped by the task's cancellation: the log's last line and the signal that ended it. */
class HookStopped extends Error {
  constructor(
    readonly stoppedBy: StopSignal,
    readonly line: string,
    readonly exitCode: number | null,
  ) {
    super(line);
  }
}

async function deployTarget(deps: AgentActivityDeps, lock: PerTargetLock, input: AgentTaskInput, ctx: TaskContext): Promise<AgentTaskResult> {
  const signal = ctx.cancellationSignal;
  const startedAt = new Date().toISOString();
  const log = deps.log.child({ jobId: input.jobId, taskId: input.taskId, target: input.target.name, phase: input.phase, attempt: input.attempt });
  const paths = statePaths(deps.stateDir, deps.agentName);
  const progress = { stage: 'claiming the task' };
  // Heartbeats carry cancellation to the task and prove to Temporal the agent is alive; they run for the whole task.
  const beat = () => ctx.heartbeat({ stage: progress.stage });
  beat();
  const heartbeats = setInterval(beat, deps.heartbeatEveryMs ?? 1_000);
  const shipper = new LogShipper({
    api: deps.api,
    taskId: input.taskId,
    capBytes: input.logCapBytes,
    onGiveUp: (error) => log.warn({ err: describe(error) }, 'task log shipping stopped'),
  });
  const workDir = paths.workDir(input.target.name);
  let artifactsDir: string | undefined;
  let unlock: (() => void) | undefined;
  try {
    // Two tasks for one target never run side by side in its work dir; a waiting one keeps heartbeating.
    progress.stage = 'waiting for another task on this target';
    unlock = await lock(input.target.id, signal);
    progress.stage = 'claiming the task';
    deps.records.rememberTask(input);
    await mkdir(workDir, { recursive: true });
    await mkdir(paths.artifactsRoot, { recursive: true, mode: 0o700 });
    artifactsDir = await mkdtemp(path.join(paths.artifactsRoot, `${safeFileName(input.taskId)}-`));
    await shipper.start();
    shipper.line(`[tollgate] ${input.phase} of ${input.release.name} ${input.release.version} to target ${input.target.name} (job ${input.jobId}, attempt ${input.attempt})`);
    log.info({ release: input.release.version }, 'task started');
    const task: Task = { input, deps, signal, shipper, workDir, artifactsDir, log, progress };

    const claim = await claimTask(task, activityDeadline(ctx.info.startToCloseTimeoutMs));
    let result: Outcome;
    if (claim === 'claimed') result = await runHooksThenCheck(task);
    else if (claim === 'taken') result = { ...(await checkInterruptedRun(task)), alreadyClaimed: true };
    else result = { outcome: 'failed', error: claim.refused };

    shipper.line(`[tollgate] ${result.outcome}${result.error ? `: ${result.error.code}: ${result.error.message}` : ''}`);
    await shipper.close();
    log.info({ outcome: result.outcome, exitCode: result.exitCode ?? null, error: result.error?.code ?? null, alreadyClaimed: result.alreadyClaimed ?? false }, 'task finished');
    return {
      outcome: result.outcome,
      exitCode: result.exitCode ?? null,
      healthChecks: result.healthChecks ?? 0,
      error: result.error ?? null,
      alreadyClaimed: result.alreadyClaimed ?? false,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  } catch (error) {
    if (signal.aborted) {
      const stopped = error instanceof HookStopped ? error : undefined;
      if (!stopped) shipper.line(`[tollgate] task cancelled while ${progress.stage}`);
      await shipper.close(stopped ? { signal: stopped.stoppedBy, line: stopped.line } : undefined);
      log.info({ stoppedBy: stopped?.stoppedBy ?? null, stage: progress.stage }, 'task cancelled');
      throw cancellation(signal, stopped);
    }
    shipper.line(`[tollgate] the agent could not finish the task: ${describe(error)}`);
    await shipper.close();
    log.warn({ err: describe(error) }, 'task failed in the agent');
    throw error;
  } finally {
    unlock?.();
    clearInterval(heartbeats);
    if (artifactsDir) await rm(artifactsDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Claims (job, target, phase, attempt) in the API's ledger before any hook runs, so a retried task never runs its
 * hook twice. An unreachable or failing API is retried (the task keeps heartbeating) until the task's time is up.
 */
async function claimTask(task: Task, deadline: number): Promise<'claimed' | 'taken' | { refused: TaskError }> {
  const { input, signal, shipper } = task;
  const body = { jobId: input.jobId, targetId: input.target.id, phase: input.phase, attempt: input.attempt };
  let warned = false;
  try {
    const answer = await retryTransient(() => task.deps.api.claim(input.taskId, body, signal), {
      signal,
      deadline,
      onRetry: (error) => {
        if (warned) return;
        warned = true;
        shipper.line(`[tollgate] claiming the task failed (${error.message}); retrying`);
        task.log.warn({ err: error.message }, 'claim failed; retrying');
      },
    });
    return answer?.claimed === false ? 'taken' : 'claimed';
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof AgentApiError && error.status === 409 && error.code === 'ALREADY_CLAIMED') return 'taken';
    if (error instanceof AgentApiError) {
      return { refused: { code: error.transient ? 'API_UNAVAILABLE' : 'CLAIM_REFUSED', message: `the API refused the claim: ${error.status} ${error.code}: ${error.message}` } };
    }
    throw error;
  }
}

async function runHooksThenCheck(task: Task): Promise<Outcome> {
  const { input, shipper, signal, progress } = task;
  const hooks = input.release.components.filter((c) => c.deployHook && c.deployHook.trim());
  if (hooks.length === 0) shipper.line('[tollgate] no component of this release has a deploy hook: nothing to run');
  let exitCode: number | null = null;
  let failure: TaskError | null = null;
  for (const [index, component] of hooks.entries()) {
    progress.stage = `running the hook for component ${component.name}`;
    shipper.line(`[tollgate] running hook for component ${component.name} (${index + 1}/${hooks.length})`);
    const result = await runCommand({
      command: component.deployHook!,
      cwd: task.workDir,
      env: hookEnvironment(input, component, task),
      onOutput: (text) => shipper.write(text),
      signal,
      graceMs: input.cancelGraceMs,
      onStopSignal: (sig) =>
        shipper.line(
          sig === 'SIGTERM'
            ? `[tollgate] task cancelled: sending SIGTERM to the hook for component ${component.name} (SIGKILL after ${input.cancelGraceMs} ms)`
            : `[tollgate] the hook for component ${component.name} is still running after ${input.cancelGraceMs} ms: sending SIGKILL`,
        ),
    });
    exitCode = result.exitCode;
    if (result.stoppedBy) {
      throw new HookStopped(result.stoppedBy, `[tollgate] hook for component ${component.name} stopped by ${result.stoppedBy}`, result.exitCode);
    }
    if (signal.aborted) throw signal.reason;
    if (result.spawnError) failure = { code: 'HOOK_FAILED', message: `hook for ${component.name} could not start: ${result.spawnError}` };
    else if (result.exitCode === null) failure = { code: 'HOOK_FAILED', message: `hook for ${component.name} was killed by ${result.signal}` };
    else if (result.exitCode !== 0) failure = { code: 'HOOK_FAILED', message: `hook for ${component.name} exited with ${result.exitCode}` };
    shipper.line(`[tollgate] hook for component ${component.name} ${result.exitCode !== null ? `exited with ${result.exitCode}` : failure?.message}`);
    if (failure) break;
  }

  progress.stage = 'uploading artifacts';
  await uploadArtifacts({ api: task.deps.api, taskId: input.taskId, dir: task.artifactsDir, log: (line) => shipper.line(line), signal });
  if (failure) return { outcome: 'failed', exitCode, error: failure };

  const health = await checkHealth(task);
  if (health && !health.healthy) {
    return { outcome: 'failed', exitCode, healthChecks: health.attempts, error: { code: 'HEALTH_CHECK_FAILED', message: `health check failed ${health.attempts} time(s); last: ${health.detail}` } };
  }
  task.deps.records.recordSuccess(input, new Date().toISOString());
  return { outcome: 'succeeded', exitCode, healthChecks: health?.attempts ?? 0 };
}

/**
 * The ledger says this attempt was claimed before: its hook ran (or began) under an agent that then died or lost
 * the task. The hook is not run again; the target counts as deployed only if it is healthy and, when its health
 * answer names a release, runs this task's.
 */
async function checkInterruptedRun(task: Task): Promise<Outcome> {
  const { input, shipper } = task;
  shipper.line('[tollgate] this attempt was already claimed: its hook ran (or started) before and is not run again; checking the target instead');
  const record = task.deps.records.get(input.target.id)?.lastDeploy;
  const finishedHere = record?.taskId === input.taskId && record.attempt === input.attempt && record.phase === input.phase;
  const interrupted = (healthChecks = 0): Outcome => ({ outcome: 'failed', healthChecks, error: { code: 'DEPLOY_INTERRUPTED', message: DEPLOY_INTERRUPTED_MESSAGE } });
  const health = await checkHealth(task);
  if (!health) {
    if (finishedHere) {
      shipper.line(`[tollgate] this agent recorded the task as finished at ${record!.deployedAt}`);
      return { outcome: 'succeeded' };
    }
    shipper.line('[tollgate] the target has no health check, so whether the earlier run finished cannot be told');
    return interrupted();
  }
  if (!health.healthy) return interrupted(health.attempts);
  const reported = health.reported;
  const other = reported && ((reported.releaseId && reported.releaseId !== input.release.id) || (!reported.releaseId && reported.version && reported.version !== input.release.version));
  if (other) {
    shipper.line(`[tollgate] the target is healthy but reports ${reported!.releaseId ?? ''} ${reported!.version ?? ''}, not ${input.release.id} ${input.release.version}`.replace(/\s+/g, ' '));
    return interrupted(health.attempts);
  }
  if (!finishedHere) task.deps.records.recordSuccess(input, new Date().toISOString());
  return { outcome: 'succeeded', healthChecks: health.attempts };
}

async function checkHealth(task: Task): Promise<(HealthCheckOutcome & { reported: { releaseId: string | null; version: string | null } | null }) | null> {
  const check = task.input.target.healthCheck;
  if (!check || (!check.url && !check.command)) {
    task.shipper.line('[tollgate] no health check is configured for this target');
    return null;
  }
  task.progress.stage = 'checking health';
  let reported: { releaseId: string | null; version: string | null } | null = null;
  const outcome = await runHealthCheck(check, {
    cwd: task.workDir,
    env: hookEnvironment(task.input, null, task),
    log: (line) => task.shipper.line(line),
    onOutput: (text) => task.shipper.write(text),
    signal: task.signal,
    onBody: (body) => (reported = body),
  });
  return { ...outcome, reported };
}

function activityDeadline(startToCloseMs: number | undefined): number {
  if (!startToCloseMs) return Infinity;
  // Leave time to report the outcome before Temporal gives up on the task.
  return Date.now() + Math.max(startToCloseMs - 5_000, startToCloseMs / 2);
}

function cancellation(signal: AbortSignal, stopped: HookStopped | undefined): Error {
  const reason = signal.reason;
  if (!stopped) return reason instanceof Error ? reason : new CancelledFailure(String(reason ?? 'CANCELLED'));
  // Still Temporal's cancellation, now carrying how the hook ended for the workflow to record.
  const message = reason instanceof CancelledFailure ? reason.message : String(reason ?? 'CANCELLED');
  return new CancelledFailure(message, [{ stoppedBy: stopped.stoppedBy, exitCode: stopped.exitCode }]);
}

type PerTargetLock = (key: string, signal: AbortSignal) => Promise<() => void>;

/** One task per key at a time: answers the release once the tasks before it are done (or rejects when cancelled). */
function perTargetLock(): PerTargetLock {
  const tails = new Map<string, Promise<void>>();
  return async (key, signal) => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    const unlock = () => {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    };
    try {
      await untilAborted(previous, signal);
    } catch (error) {
      unlock();
      throw error;
    }
    return unlock;
  };
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

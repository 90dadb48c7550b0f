import { mkdir } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { storableHealthResult, type ReportedRelease, type TargetHealthInput, type TargetHealthResult } from '../../domain/deployments/target-health';
import type { Logger } from '../../platform/logger';
import { runHealthCheck } from '../hooks/health-check';
import { propertyVariable } from '../hooks/hook-env';
import { statePaths } from '../runtime/state-files';
import type { TaskContext } from '../runtime/work-channel';

export interface HealthCheckActivityDeps {
  stateDir: string;
  agentName: string;
  log: Logger;
  /** How often a check heartbeats to Temporal (default 1 s; the SDK throttles what it sends to the heartbeat timeout). */
  heartbeatEveryMs?: number;
}

export function createHealthCheckActivities(deps: HealthCheckActivityDeps): { checkTargetHealth: (input: TargetHealthInput, ctx?: TaskContext) => Promise<TargetHealthResult> } {
  return { checkTargetHealth: (input, ctx) => checkTargetHealth(deps, input, ctx ?? Context.current()) };
}

/**
 * A target's health check, asked for by an operator: the same check a deployment runs after its hook, with its
 * retries, run from this host (where the check's URL or command means something). It touches nothing, so it
 * neither claims a ledger entry nor waits for a deployment running on the target.
 */
async function checkTargetHealth(deps: HealthCheckActivityDeps, input: TargetHealthInput, ctx: TaskContext): Promise<TargetHealthResult> {
  const signal = ctx.cancellationSignal;
  const { target } = input;
  const log = deps.log.child({ target: target.name, targetId: target.id });
  const progress = { check: 0 };
  // Heartbeats prove the agent is alive while retries pause, and carry a cancellation to the check.
  const beat = () => ctx.heartbeat({ stage: 'checking health', check: progress.check });
  beat();
  const heartbeats = setInterval(beat, deps.heartbeatEveryMs ?? 1_000);
  try {
    const workDir = statePaths(deps.stateDir, deps.agentName).workDir(target.name);
    await mkdir(workDir, { recursive: true });
    let reported: ReportedRelease = { releaseId: null, version: null };
    const outcome = await runHealthCheck(target.healthCheck, {
      cwd: workDir,
      env: checkEnvironment(input, workDir),
      log: (line) => {
        progress.check += 1;
        log.debug({ line }, 'health check');
      },
      signal,
      onBody: (body) => (reported = body),
    });
    const message = outcome.healthy
      ? `healthy after ${outcome.attempts} check(s): ${outcome.detail}`
      : `unhealthy after ${outcome.attempts} check(s); last: ${outcome.detail}`;
    log.info({ healthy: outcome.healthy, checks: outcome.attempts, lastStatus: outcome.lastStatus }, 'health check finished');
    // Part of it is the target's own answer: made storable here, where it enters Tollgate.
    return storableHealthResult({ healthy: outcome.healthy, checks: outcome.attempts, lastStatus: outcome.lastStatus, message, checkedAt: new Date().toISOString(), reported });
  } finally {
    clearInterval(heartbeats);
  }
}

/**
 * What a command check sees: the agent's environment plus the target, as a deploy hook's check does, without
 * any task or release (there is none). Variables a deployment would set are removed so none passes for this check's.
 */
function checkEnvironment(input: TargetHealthInput, workDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of Object.keys(env)) if (name.startsWith('TOLLGATE_PROP_') || TASK_VARIABLES.includes(name)) delete env[name];
  delete env.TOLLGATE_AGENT_TOKEN;
  for (const [key, value] of Object.entries(input.target.properties ?? {})) env[propertyVariable(key)] = String(value);
  Object.assign(env, {
    TOLLGATE_ACTION: 'health-check',
    TOLLGATE_TARGET_ID: input.target.id,
    TOLLGATE_TARGET_NAME: input.target.name,
    TOLLGATE_TARGET_LABELS: JSON.stringify(input.target.labels ?? {}),
    TOLLGATE_TARGET_PROPERTIES: JSON.stringify(input.target.properties ?? {}),
    TOLLGATE_WORK_DIR: workDir,
  });
  if (input.environment) {
    env.TOLLGATE_ENVIRONMENT_ID = input.environment.id;
    env.TOLLGATE_ENVIRONMENT_NAME = input.environment.name;
  }
  return env;
}

const TASK_VARIABLES = [
  'TOLLGATE_JOB_ID',
  'TOLLGATE_TASK_ID',
  'TOLLGATE_ATTEMPT',
  'TOLLGATE_RELEASE_ID',
  'TOLLGATE_RELEASE_NAME',
  'TOLLGATE_RELEASE_VERSION',
  'TOLLGATE_DIGESTS',
  'TOLLGATE_ARTIFACTS_DIR',
  'TOLLGATE_COMPONENT',
  'TOLLGATE_COMPONENT_VERSION',
  'TOLLGATE_COMPONENT_DIGEST',
  'TOLLGATE_ENVIRONMENT_ID',
  'TOLLGATE_ENVIRONMENT_NAME',
];

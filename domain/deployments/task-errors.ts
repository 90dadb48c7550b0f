import type { DeploymentSettings, TaskError } from './model';

/**
 * What a task's failure means to an operator, from how Temporal ended the
 * agent's activity: a heartbeat that stopped is a dead agent, a task nobody
 * picked up is an offline one, a task that ran too long timed out.
 */

export type ActivityTimeout = 'HEARTBEAT' | 'SCHEDULE_TO_START' | 'START_TO_CLOSE' | 'SCHEDULE_TO_CLOSE';

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

export function timeoutError(timeout: ActivityTimeout | undefined, settings: DeploymentSettings, agentId: string): TaskError {
  switch (timeout) {
    case 'HEARTBEAT':
      return { code: 'AGENT_LOST', message: `agent ${agentId} stopped heartbeating for ${seconds(settings.heartbeatTimeoutMs)}; presumed dead` };
    case 'SCHEDULE_TO_START':
      return { code: 'AGENT_OFFLINE', message: `agent ${agentId} did not pick the task up within ${seconds(settings.pickupTimeoutMs)}; it is offline` };
    default:
      return { code: 'TASK_TIMEOUT', message: `the task ran longer than ${seconds(settings.taskTimeoutMs)}` };
  }
}

export const noAgentError = (targetName: string): TaskError => ({ code: 'NO_AGENT', message: `target ${targetName} has no agent to run its deployment` });

export const agentError = (code: string | undefined | null, message: string): TaskError => ({ code: code || 'AGENT_ERROR', message: message || 'the agent failed the task' });

/** A failed outcome the agent reported without saying why. */
export const hookFailedError = (exitCode: number | null): TaskError => ({
  code: 'DEPLOY_FAILED',
  message: exitCode === null ? 'the deploy hook failed' : `the deploy hook exited with code ${exitCode}`,
});

export const cancelledError = (reason: string): TaskError => ({ code: 'CANCELLED', message: reason });

/**
 * A success the ledger does not back: no claim by the target's agent for this job, target, phase and attempt, so
 * no hook ran under the ledger's guard (a forged answer, or one from a process that is not the agent).
 */
export const unclaimedError = (agentId: string | null): TaskError => ({
  code: 'UNCLAIMED_RESULT',
  message: `agent ${agentId ?? '(none)'} reported success without a ledger claim for this task and attempt; the result is not trusted`,
});

/** Failures that mean the target was never touched: no agent ran anything for it, so a rollback leaves it alone. */
const UNTOUCHED: readonly string[] = ['NO_AGENT', 'AGENT_OFFLINE', 'CANCELLED', 'UNCLAIMED_RESULT'];

/**
 * Whether a deploy task may have changed its target: it succeeded, or it failed
 * after its agent picked it up (a hook that failed half-way, a health check that
 * failed after the hook replaced the service, an agent that died mid-hook).
 * Those are the targets a rollback returns to their earlier release.
 */
export function mayHaveUpdated(task: { status: string; error: TaskError | null }): boolean {
  if (task.status === 'succeeded') return true;
  if (task.status !== 'failed' && task.status !== 'skipped') return false;
  return !task.error || !UNTOUCHED.includes(task.error.code);
}

import type { SearchAttributePair } from '@temporalio/common';
import { SA } from '../search-attributes';
import type { HealthCheck, PlanTarget, TaskError } from './model';

/**
 * An on-demand health check of one target (POST /targets/{id}/health-check):
 * what the agent that owns the target is asked, what it answers, and what the
 * targetHealthCheck workflow answers when the agent never ran the check.
 */

/** The workflow's type name (workflows/deployments/target-health-check.ts), for the API that starts it. */
export const TARGET_HEALTH_CHECK_WORKFLOW_TYPE = 'targetHealthCheck';

/**
 * A health check's search attributes, one list for both ends: the API's start
 * (state `checking`, and the target's environment when it has one) and the
 * workflow's upserts of its state. Running checks replay their upserts, so a
 * new value or order needs `patched()`.
 */
export function healthCheckSearchAttributesOf(tenantId: string, targetId: string, state: string, environmentName?: string | null): SearchAttributePair[] {
  return [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'target-health-check' },
    { key: SA.resourceId, value: targetId },
    { key: SA.state, value: state },
    ...(environmentName ? [{ key: SA.environment, value: environmentName }] : []),
  ];
}

export type HealthCheckTarget = Pick<PlanTarget, 'id' | 'name' | 'labels' | 'properties'> & { healthCheck: HealthCheck };

/** What the agent's checkTargetHealth activity is given. */
export interface TargetHealthInput {
  tenantId: string;
  target: HealthCheckTarget;
  /** For a command check's environment (TOLLGATE_ENVIRONMENT_*). */
  environment?: { id: string; name: string } | null;
}

export interface ReportedRelease {
  releaseId: string | null;
  version: string | null;
}

/** The agent's answer: an unhealthy target is an answer, not an exception. */
export interface TargetHealthResult {
  healthy: boolean;
  /** How many checks ran (each retry counts). */
  checks: number;
  /** The last check's short answer: an HTTP status ("503"), "exit 1", "timeout", a network error code; null when none ran. */
  lastStatus: string | null;
  message: string;
  checkedAt: string;
  /** What the last health answer's JSON body said the target runs. */
  reported: ReportedRelease;
}

/** The targetHealthCheck workflow's input. */
export interface TargetHealthCheckInput extends TargetHealthInput {
  agentId: string;
  /** An agent that does not pick the check up within this long is offline. */
  pickupTimeoutMs: number;
  /** An agent that stops heartbeating for this long while it checks is presumed dead. */
  heartbeatTimeoutMs: number;
}

/** The workflow's answer: the agent's, or why the agent gave none (error set, healthy false). */
export interface TargetHealthCheckOutcome extends TargetHealthResult {
  agentId: string;
  error: TaskError | null;
}

/** A command check that overruns its timeout gets this long between SIGTERM and SIGKILL (agent/hooks/health-check.ts). */
const COMMAND_GRACE_MS = 2_000;
/** Preparing the check and reporting its answer. */
const SLACK_MS = 10_000;

/** The longest the check itself may take: every attempt timing out, with the pauses between them. */
export function healthCheckBudgetMs(check: HealthCheck): number {
  const tries = 1 + Math.max(0, Math.floor(check.retries ?? 0));
  const timeoutMs = Math.max(1, check.timeoutSeconds) * 1000;
  const perAttempt = (check.url ? timeoutMs : 0) + (check.command ? timeoutMs + COMMAND_GRACE_MS : 0);
  return tries * perAttempt + (tries - 1) * Math.max(0, check.intervalSeconds) * 1000 + SLACK_MS;
}

/** The longest a targetHealthCheck workflow runs: waiting for the agent, then the check. */
export function healthCheckWorkflowBoundMs(check: HealthCheck, pickupTimeoutMs: number): number {
  return pickupTimeoutMs + healthCheckBudgetMs(check);
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;
const NOTHING_REPORTED: ReportedRelease = { releaseId: null, version: null };

/** The answer when the agent never finished the check: not healthy, as far as anyone can tell, and why. */
export function unansweredCheck(agentId: string, error: TaskError, checkedAt: string): TargetHealthCheckOutcome {
  return { agentId, healthy: false, checks: 0, lastStatus: null, message: error.message, checkedAt, reported: NOTHING_REPORTED, error };
}

export type CheckTimeout = 'HEARTBEAT' | 'SCHEDULE_TO_START' | 'START_TO_CLOSE' | 'SCHEDULE_TO_CLOSE';

export function checkTimeoutError(timeout: CheckTimeout | undefined, input: Pick<TargetHealthCheckInput, 'agentId' | 'pickupTimeoutMs' | 'heartbeatTimeoutMs' | 'target'>): TaskError {
  switch (timeout) {
    case 'SCHEDULE_TO_START':
      return { code: 'AGENT_OFFLINE', message: `agent ${input.agentId} did not pick the check up within ${seconds(input.pickupTimeoutMs)}; it is offline` };
    case 'HEARTBEAT':
      return { code: 'AGENT_LOST', message: `agent ${input.agentId} stopped heartbeating for ${seconds(input.heartbeatTimeoutMs)} while checking ${input.target.name}; presumed dead` };
    default:
      return { code: 'CHECK_TIMEOUT', message: `the check of ${input.target.name} ran longer than ${seconds(healthCheckBudgetMs(input.target.healthCheck))}` };
  }
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** What a target reports running, as short text the heartbeat would store too (agent/runtime/target-reports.ts). */
const reportedText = (value: string | null): string | null => (value === null ? null : value.replace(UNSTORABLE, '').trim().slice(0, 200) || null);

/**
 * An outcome whose text came partly from the target itself (its health answer's body) made storable: Postgres
 * refuses NUL and lone surrogates in text and jsonb, and a target's answer must not turn a check into a 500.
 */
export function storableOutcome(outcome: TargetHealthCheckOutcome): TargetHealthCheckOutcome {
  const text = (value: string) => value.replace(UNSTORABLE, '\ufffd');
  return {
    ...storableHealthResult(outcome),
    agentId: outcome.agentId,
    error: outcome.error ? { code: text(outcome.error.code), message: text(outcome.error.message) } : null,
  };
}

/** The agent's answer made storable by the same rule, before it reports it (the API refuses unstorable text). */
export function storableHealthResult<T extends TargetHealthResult>(result: T): T {
  const text = (value: string) => value.replace(UNSTORABLE, '\ufffd');
  return {
    ...result,
    message: text(result.message),
    lastStatus: result.lastStatus === null ? null : text(result.lastStatus),
    reported: { releaseId: reportedText(result.reported.releaseId), version: reportedText(result.reported.version) },
  };
}

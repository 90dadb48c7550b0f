import * as wf from '@temporalio/workflow';
import { agentTaskQueue } from '../../domain/deployments/model';
import type { AgentActivities } from '../../domain/deployments/ports';
import { checkTimeoutError, healthCheckBudgetMs, healthCheckSearchAttributesOf, unansweredCheck, type TargetHealthCheckInput, type TargetHealthCheckOutcome } from '../../domain/deployments/target-health';
import { showInUi } from '../entity';

const agent = wf.proxyActivities<AgentActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 1 } });

/**
 * One health check of one target, run now on the agent that owns it (the
 * check's URL or command only means something from the agent's host). The
 * check is never retried as a whole (its own retries are the check's): an
 * agent that does not pick it up is offline, one that stops heartbeating is
 * lost, and either is an answer, not a failure of this workflow.
 */
export async function targetHealthCheck(input: TargetHealthCheckInput): Promise<TargetHealthCheckOutcome> {
  const { tenantId, agentId, target } = input;
  const show = (state: string, details: string) => showInUi(healthCheckSearchAttributesOf(tenantId, target.id, state), details);
  show('checking', `Checking ${target.name} on agent ${agentId}`);
  let outcome: TargetHealthCheckOutcome;
  try {
    const result = await agent.checkTargetHealth.executeWithOptions(
      {
        taskQueue: agentTaskQueue(agentId),
        scheduleToStartTimeout: input.pickupTimeoutMs,
        heartbeatTimeout: input.heartbeatTimeoutMs,
        startToCloseTimeout: healthCheckBudgetMs(target.healthCheck),
        retry: { maximumAttempts: 1 },
        summary: `Health check of ${target.name}`,
      },
      [{ tenantId, target, environment: input.environment ?? null }],
    );
    outcome = { ...result, agentId, error: null };
  } catch (err) {
    outcome = unansweredCheck(agentId, failureOf(err, input), new Date(Date.now()).toISOString());
  }
  const state = outcome.error ? outcome.error.code.toLowerCase() : outcome.healthy ? 'healthy' : 'unhealthy';
  show(state, `${target.name}: ${outcome.message}`);
  return outcome;
}

function failureOf(err: unknown, input: TargetHealthCheckInput): { code: string; message: string } {
  const cause = err instanceof wf.ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof wf.TimeoutFailure) return checkTimeoutError(cause.timeoutType, input);
  if (cause instanceof wf.CancelledFailure) return { code: 'CHECK_ABANDONED', message: `agent ${input.agentId} gave the check up: ${cause.message}` };
  if (cause instanceof wf.ApplicationFailure) return { code: cause.type || 'AGENT_ERROR', message: cause.message || 'the agent failed the check' };
  if (cause instanceof Error) return { code: 'AGENT_ERROR', message: cause.message || 'the agent failed the check' };
  throw err;
}

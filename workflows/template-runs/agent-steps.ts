import * as wf from '@temporalio/workflow';
import { agentTaskQueue } from '../../domain/deployments/model';
import type { ScriptTaskInput, ScriptTaskResult } from '../../domain/script-task';
import type { StepRequest, StepResult } from '../../domain/templates/model';
import type { TemplateStepActivities } from '../../activities/template-runs/steps/step-activities';

/**
 * The `script` step (runsOn 'agent'): an activity picks the agent (one of the
 * step's environment that allows scripts), then `runScript` is scheduled on
 * that agent's own queue, which only the API relays to the agent over its work
 * channel, as deployment tasks and a rollout's traffic tasks are. The agent
 * heartbeats it; cancelling the node reaches the command through the
 * heartbeat's answer (SIGTERM, then SIGKILL). A non-zero exit fails the node
 * with its outputs.
 */

/** An agent that does not pick the task up within this is offline for the step. */
const PICKUP_TIMEOUT = '1m';
const DEFAULT_SCRIPT_TIMEOUT_MS = 3_600_000;

const { templatePrepareScriptStep } = wf.proxyActivities<TemplateStepActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

export async function callAgentStep(request: StepRequest, options: { summary: string; timeoutMs?: number }): Promise<StepResult> {
  if (request.type !== 'script') throw wf.ApplicationFailure.nonRetryable(`The ${request.type} step does not run on an agent`, 'STEP_TYPE_NOT_AGENT');
  const plan = await templatePrepareScriptStep.executeWithOptions(
    { startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 }, summary: `${options.summary}: pick an agent` },
    [request],
  );
  const { runScript } = wf.proxyActivities<{ runScript(input: ScriptTaskInput): Promise<ScriptTaskResult> }>({ startToCloseTimeout: DEFAULT_SCRIPT_TIMEOUT_MS });
  let result: ScriptTaskResult;
  try {
    result = await runScript.executeWithOptions(
      {
        taskQueue: agentTaskQueue(plan.agentId),
        scheduleToStartTimeout: PICKUP_TIMEOUT,
        startToCloseTimeout: options.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
        heartbeatTimeout: '30s',
        retry: { maximumAttempts: 1 },
        cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        summary: `${options.summary} on ${plan.agentName}`,
      },
      [plan.task],
    );
  } catch (err) {
    if (err instanceof wf.ActivityFailure) {
      const cause = err.cause;
      if (cause instanceof wf.TimeoutFailure) {
        if ((cause.timeoutType as unknown) === 'SCHEDULE_TO_START') throw wf.ApplicationFailure.nonRetryable(`Agent ${plan.agentName} did not pick the script up within ${PICKUP_TIMEOUT}: it is offline`, 'AGENT_OFFLINE');
        if ((cause.timeoutType as unknown) === 'HEARTBEAT') throw wf.ApplicationFailure.nonRetryable(`Agent ${plan.agentName} stopped reporting on the script: it was lost`, 'AGENT_LOST');
        throw wf.ApplicationFailure.nonRetryable(`The script on ${plan.agentName} ran past its timeout and was stopped`, 'SCRIPT_TIMEOUT');
      }
      if (cause instanceof wf.ApplicationFailure) throw wf.ApplicationFailure.nonRetryable(cause.message, cause.type ?? 'SCRIPT_ERROR');
    }
    throw err;
  }
  const outputs = { exitCode: result.exitCode ?? -1, agentId: plan.agentId, outputs: result.outputs, artifacts: result.artifacts };
  if (result.exitCode !== 0) {
    throw wf.ApplicationFailure.nonRetryable(`The script on ${plan.agentName} exited ${result.exitCode ?? 'without an exit code'}${result.error ? ` (${result.error})` : ''}`, 'SCRIPT_FAILED', outputs);
  }
  if (result.error) throw wf.ApplicationFailure.nonRetryable(`The script on ${plan.agentName} succeeded, but ${result.error}`, 'SCRIPT_ARTIFACTS', outputs);
  return { outputs };
}

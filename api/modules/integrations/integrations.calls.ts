import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import type { Context } from 'hono';
import { callSearchAttributesOf, CALL_ACTIVITY_TIMEOUT_MS, INTEGRATION_CALL_WORKFLOW_TYPE, type IntegrationCallInput, type IntegrationCallResult } from '../../../domain/integrations/calls';
import { workflowId } from '../../../domain/workflow-ids';
import type { integrationCall } from '../../../workflows/integrations/integration-call';
import type { AppEnv } from '../../context';
import { ApiError } from '../../errors';

/**
 * Integration and plugin calls as the API makes them: an integrationCall
 * workflow per request, awaited up to the command timeout (504 past it, the
 * workflow keeps its own bound), and one Temporal Schedule per integration
 * that runs its health check every INTEGRATION_HEALTH_INTERVAL and records the
 * answer on its row — durable, so no API replica has to be up for it.
 */

export const CALL_TIMEOUT_CODE = 'INTEGRATION_CALL_TIMEOUT';

export async function runCall(c: Context<AppEnv>, input: IntegrationCallInput, summary: string): Promise<IntegrationCallResult> {
  const { config, temporal } = c.get('deps');
  const client = await temporal.client();
  const subject = input.target.source === 'integration' ? input.target.id : input.target.pluginId;
  const wfId = workflowId(input.tenantId, 'integration-call', `${subject}:${randomUUID()}`);
  const deadline = Date.now() + config.COMMAND_TIMEOUT;
  try {
    return await client.withDeadline(deadline, async () => {
      const handle = await client.workflow.start<typeof integrationCall>(INTEGRATION_CALL_WORKFLOW_TYPE, {
        workflowId: wfId,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        workflowExecutionTimeout: CALL_ACTIVITY_TIMEOUT_MS + 60_000,
        typedSearchAttributes: callSearchAttributesOf(input.tenantId, input.target, input.operation),
        staticSummary: summary,
      });
      return handle.result();
    });
  } catch (err) {
    if (Date.now() >= deadline || err instanceof WorkflowFailedError) {
      throw new ApiError(504, CALL_TIMEOUT_CODE, `${summary} did not answer within ${Math.round(config.COMMAND_TIMEOUT / 1000)} s (is the worker running?); the call goes on in workflow ${wfId}`, { workflowId: wfId });
    }
    throw err;
  }
}

const scheduleId = (tenantId: string, id: string) => workflowId(tenantId, 'integration-health', id);

export async function ensureHealthSchedule(c: Context<AppEnv>, tenantId: string, id: string, name: string): Promise<void> {
  const { config, temporal } = c.get('deps');
  const client = await temporal.client();
  const input: IntegrationCallInput = { tenantId, target: { source: 'integration', id }, operation: 'health', record: true };
  try {
    await client.schedule.create({
      scheduleId: scheduleId(tenantId, id),
      spec: { intervals: [{ every: config.INTEGRATION_HEALTH_INTERVAL }] },
      action: {
        type: 'startWorkflow',
        workflowType: INTEGRATION_CALL_WORKFLOW_TYPE,
        workflowId: workflowId(tenantId, 'integration-health', id),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        workflowExecutionTimeout: CALL_ACTIVITY_TIMEOUT_MS + 60_000,
        typedSearchAttributes: callSearchAttributesOf(tenantId, input.target, 'health'),
        staticSummary: `Health check of integration ${name}`,
      },
      policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
      state: { note: `Health of integration ${name}` },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/** The first check at once, rather than one interval after the create; a failure only delays it to the next interval. */
export async function triggerHealthCheck(c: Context<AppEnv>, tenantId: string, id: string): Promise<void> {
  const client = await c.get('deps').temporal.client();
  await client.schedule
    .getHandle(scheduleId(tenantId, id))
    .trigger()
    .catch((err) => c.get('deps').log.warn({ err, integrationId: id }, 'the first health check of an integration could not be triggered; it runs at the next interval'));
}

export async function deleteHealthSchedule(c: Context<AppEnv>, tenantId: string, id: string): Promise<void> {
  const client = await c.get('deps').temporal.client();
  await client.schedule
    .getHandle(scheduleId(tenantId, id))
    .delete()
    .catch((err) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
}

import * as wf from '@temporalio/workflow';
import { CALL_ACTIVITY_TIMEOUT_MS, type IntegrationCallInput, type IntegrationCallResult } from '../../domain/integrations/calls';
import type { IntegrationActivities } from '../../activities/integrations';

const { runIntegrationCall } = wf.proxyActivities<IntegrationActivities>({ startToCloseTimeout: CALL_ACTIVITY_TIMEOUT_MS, retry: { maximumAttempts: 1 } });

/**
 * One call to an integration or a plugin (test, discover, a health check, a
 * registry's tags, a notification): a single activity, never retried as a
 * whole (the call's own retries are the notifier's). A request waits for its
 * answer; an integration's health Schedule starts one per interval. The
 * activity answers a failure of the integration as `ok: false`, so this
 * workflow fails only when the worker could not run it at all.
 */
export async function integrationCall(input: IntegrationCallInput): Promise<IntegrationCallResult> {
  return runIntegrationCall(input);
}

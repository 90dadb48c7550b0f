import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { TEMPORAL_ACTOR, type EndedHow, type WorkflowEnding } from '../domain/workflow-endings';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const HOW_BY_STATUS: Partial<Record<string, EndedHow>> = { CANCELLED: 'cancelled', TERMINATED: 'terminated', FAILED: 'failed', TIMED_OUT: 'timed_out' };
/** A cancel request sits a few events before the close; the reverse history is read this far at most. */
const MAX_REVERSE_PAGES = 5;

export type RunStanding = { standing: 'running' | 'completed' | 'absent' } | { standing: 'ended'; ending: WorkflowEnding };

/**
 * How the latest run of a workflow stands: running (or continued, which is its
 * next run), completed by its own code, gone from Temporal, or ended by
 * something else — then how, by whom and why, from its history's close event
 * (and, for a cancel, the cancel request before it, which carries the identity).
 */
export async function runStanding(client: Client, workflowId: string): Promise<RunStanding> {
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { standing: 'absent' };
    throw err;
  }
  const how = HOW_BY_STATUS[description.status.name];
  if (!how) return { standing: description.status.name === 'COMPLETED' ? 'completed' : 'running' };
  const at = (description.closeTime ?? new Date()).toISOString();
  const ending: WorkflowEnding = { how, by: TEMPORAL_ACTOR, reason: null, at, runId: description.runId };
  await readHistory(client, workflowId, description.runId, ending);
  return { standing: 'ended', ending };
}

async function readHistory(client: Client, workflowId: string, runId: string, ending: WorkflowEnding): Promise<void> {
  let nextPageToken: Uint8Array | undefined;
  for (let page = 0; page < MAX_REVERSE_PAGES; page++) {
    const res = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 20,
      nextPageToken,
    });
    for (const event of res.history?.events ?? []) if (read(event, ending)) return;
    if (!res.nextPageToken?.length) return;
    nextPageToken = res.nextPageToken;
  }
}

/** Fills in what one event says; true once there is nothing more to learn. */
function read(event: HistoryEvent, ending: WorkflowEnding): boolean {
  const terminated = event.workflowExecutionTerminatedEventAttributes;
  if (terminated) {
    ending.by = terminated.identity || TEMPORAL_ACTOR;
    ending.reason = terminated.reason || null;
    return true;
  }
  const failed = event.workflowExecutionFailedEventAttributes;
  if (failed) {
    ending.reason = failed.failure?.message || null;
    return true;
  }
  if (event.workflowExecutionTimedOutEventAttributes) {
    ending.reason = 'the run reached its timeout';
    return true;
  }
  const cancelRequested = event.workflowExecutionCancelRequestedEventAttributes;
  if (cancelRequested) {
    const parent = cancelRequested.externalWorkflowExecution?.workflowId;
    ending.by = cancelRequested.identity || (parent ? `workflow ${parent}` : TEMPORAL_ACTOR);
    ending.reason = cancelRequested.cause || null;
    return true;
  }
  return false;
}

import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { StepRequest } from '../../../domain/templates/model';
import { workflowId, type ResourceKind } from '../../../domain/workflow-ids';
import type { Config } from '../../../platform/config';
import { dataConverterOf } from '../../../platform/payload-keys';
import { connectionOptions, temporalConnection } from '../../../platform/temporal-connection';

/**
 * The Temporal client steps start and command other workflows with (a
 * promotion, a change, a rollout): lazy, so a worker that never runs such a
 * step never connects, and with the payload codec, since every payload it
 * hands Temporal is a command like the API's.
 */
export function lazyStepClient(config: Config): () => Promise<Client> {
  let client: Client | undefined;
  return async () => {
    client ??= new Client({ connection: Connection.lazy(connectionOptions(temporalConnection(config))), namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(config) });
    return client;
  };
}

/** What a waiting step sees of its activity: heartbeats (which carry Temporal's cancellation back) and the cancellation itself. */
export interface StepTask {
  heartbeat(details?: unknown): void;
  readonly signal: AbortSignal;
}

/** Resolves after `ms`, or rejects with the signal's reason when the step is cancelled first. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The start of another module's workflow that a step's create update rides on
 * (update-with-start), as the API starts it: a step tried again reaches the
 * workflow its first try started, and one that has ended is never started afresh.
 */
export function stepStartOperation(
  config: Config,
  request: StepRequest,
  kind: ResourceKind,
  id: string,
  workflowType: string,
  options: { args: unknown[]; searchAttributes: SearchAttributePair[]; summary: string; details: string },
): WithStartWorkflowOperation<any> {
  return new WithStartWorkflowOperation(workflowType, {
    workflowId: workflowId(request.tenantId, kind, id),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: options.args,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: options.searchAttributes,
    staticSummary: options.summary,
    staticDetails: `${options.details} (template run ${request.runId}, step ${request.nodeId})`,
  } as never);
}

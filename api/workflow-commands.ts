import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { WithStartWorkflowOperation, type Client, type WorkflowStartOptions } from '@temporalio/client';
import type { SearchAttributePair, UpdateDefinition, Workflow } from '@temporalio/common';
import type { CommandMeta } from '../domain/actor';
import { COMMAND_PAYLOAD_LIMIT_BYTES, commandFits } from '../domain/payload-limits';
import { workflowId, type ResourceKind } from '../domain/workflow-ids';
import type { AppEnv } from './context';
import { PayloadTooLarge, ServiceUnavailable } from './errors';
import { useIdempotencyKey } from './idempotency';
import { actorOf, principalOf } from './principal';
import { isUpdateOutlivedByWorkflow, isWorkflowGone } from './temporal-errors';

/**
 * How the API sends a command to a workflow-owned resource, for every module:
 * the caller's Idempotency-Key bound to the request (api/idempotency.ts) and
 * used as the update id, a deadline so a stalled worker or database answers a
 * retryable 503 after COMMAND_TIMEOUT, and a workflow that has already ended
 * handed to the module to explain (its row says why).
 */
export function withinCommandTimeout<T>(c: Context<AppEnv>, client: Client, fn: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + c.get('deps').config.COMMAND_TIMEOUT, fn);
}

export function commandMeta(c: Context<AppEnv>): CommandMeta {
  return { actor: actorOf(c), requestId: c.get('requestId') };
}

export interface UpdateRequest<E, B> {
  kind: ResourceKind;
  id: string;
  definition: UpdateDefinition<E, [B, CommandMeta]>;
  body: B;
  /** The module's idempotency-key space. */
  scope: string;
  /** Answers for a workflow that has ended (throw the module's 404 or 409). */
  gone(): Promise<never>;
}

/**
 * What a command hands a workflow must stay far from Temporal's payload limit
 * (domain/payload-limits.ts): past it the server would end the workflow and
 * strand its record. The schemas' maxima keep every body well inside; this is
 * the net under them, answered before any workflow sees the command.
 */
function requireFits(c: Context<AppEnv>, body: unknown): void {
  if (!commandFits([body, commandMeta(c)])) throw new PayloadTooLarge(COMMAND_PAYLOAD_LIMIT_BYTES);
}

export async function sendUpdate<E, B>(c: Context<AppEnv>, request: UpdateRequest<E, B>): Promise<E> {
  const { tenantId } = principalOf(c);
  requireFits(c, request.body);
  const keyed = await useIdempotencyKey(c, { scope: request.scope, operation: request.definition.name, resource: request.id, body: request.body });
  if (keyed?.outcome) return keyed.outcome as E;
  const client = await c.get('deps').temporal.client();
  const handle = client.workflow.getHandle(workflowId(tenantId, request.kind, request.id));
  let result: E;
  try {
    result = await withinCommandTimeout(c, client, () =>
      handle.executeUpdate(request.definition, { args: [request.body, commandMeta(c)], updateId: keyed?.updateId ?? randomUUID() }),
    );
  } catch (err) {
    // Accepted, but the workflow ended before answering it: as if it had ended first.
    if (isWorkflowGone(err) || isUpdateOutlivedByWorkflow(err)) return request.gone();
    throw err;
  }
  await keyed?.remember(result);
  return result;
}

export interface CreateRequest<E, B, W extends Workflow> {
  kind: ResourceKind;
  workflowType: string;
  definition: UpdateDefinition<E, [B, CommandMeta]>;
  body: B;
  scope: string;
  /** A fresh id for the resource; on a keyed retry the first request's id is used instead. */
  allocate(): Promise<string>;
  /** The workflow's start options for that id. */
  start(id: string): Pick<WorkflowStartOptions<W>, 'args'> & { searchAttributes: SearchAttributePair[]; summary: string; details?: string };
  /** Runs the create inside a guard of the module's (a lock its check holds until the record is written); `id` is the one being created. */
  exclusive?: <T>(id: string, create: () => Promise<T>) => Promise<T>;
}

/** Creates a resource with update-with-start: the response is the persisted record. */
export async function createWithUpdate<E, B, W extends Workflow>(c: Context<AppEnv>, request: CreateRequest<E, B, W>): Promise<E> {
  const { tenantId } = principalOf(c);
  const { config, temporal } = c.get('deps');
  requireFits(c, request.body);
  const keyed = await useIdempotencyKey(c, { scope: request.scope, operation: 'create', body: request.body }, request.allocate);
  if (keyed?.outcome) return keyed.outcome as E;
  const id = keyed?.resource ?? (await request.allocate());
  const client = await temporal.client();
  const options = request.start(id);
  const start = new WithStartWorkflowOperation<W>(request.workflowType, {
    workflowId: workflowId(tenantId, request.kind, id),
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: options.args,
    // A retried create (same key → same id) must reach the workflow it started.
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: options.searchAttributes,
    staticSummary: options.summary,
    staticDetails: options.details,
  } as never);
  const create = () =>
    withinCommandTimeout(c, client, () =>
      client.workflow.executeUpdateWithStart(request.definition, { args: [request.body, commandMeta(c)], updateId: keyed?.updateId ?? randomUUID(), startWorkflowOperation: start }),
    ).catch((err: unknown) => {
      // The new workflow ended before answering its first command: nothing was created, and a retry starts it afresh.
      if (isUpdateOutlivedByWorkflow(err)) throw new ServiceUnavailable('The workflow ended before it answered; retry with the same Idempotency-Key', 'WORKFLOW_ENDED');
      throw err;
    });
  const result = request.exclusive ? await request.exclusive(id, create) : await create();
  await keyed?.remember(result);
  return result;
}

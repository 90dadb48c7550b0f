import { isGrpcServiceError, ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { FailureKind } from '../domain/errors';
import { TemporalUnavailableError } from '../platform/temporal';
import { ApiError, Conflict, fromDomainFailure, NotFound, ServiceUnavailable } from './errors';

// gRPC status codes (grpc/status.proto).
const NOT_FOUND = 5;
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/**
 * The failure type Temporal's server gives an update it had accepted when the
 * workflow completed (or was terminated) before the update did. It is the
 * server's, not a business rule: never shown to a user as one.
 */
const UPDATE_OUTLIVED = 'AcceptedUpdateCompletedWorkflow';

/**
 * Turns what the Temporal client throws into API errors: a business failure
 * from an update validator or handler keeps its kind/code/details; an absent
 * workflow is a 404; an unreachable cluster is a 503 the caller can retry.
 */
export function mapTemporalError(err: unknown): ApiError | undefined {
  if (err instanceof WorkflowUpdateFailedError) {
    if (isUpdateOutlivedByWorkflow(err)) {
      return new Conflict('The workflow ended before this command completed; read the resource for its state', 'WORKFLOW_ENDED');
    }
    const failure = findApplicationFailure(err.cause);
    if (failure) return fromApplicationFailure(failure);
    return undefined;
  }
  if (err instanceof WorkflowNotFoundError) return new NotFound('No such resource');
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new ServiceUnavailable('The workflow did not answer in time; retry with the same Idempotency-Key', 'WORKFLOW_TIMEOUT');
  }
  if (isUnavailable(err)) return new ServiceUnavailable('Temporal is unavailable; retry shortly', 'TEMPORAL_UNAVAILABLE');
  return undefined;
}

/** An update the workflow accepted but never answered, because the workflow ended first. */
export function isUpdateOutlivedByWorkflow(err: unknown): boolean {
  if (!(err instanceof WorkflowUpdateFailedError)) return false;
  return findApplicationFailure(err.cause)?.type === UPDATE_OUTLIVED;
}

export function isWorkflowGone(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const grpc = grpcOf(err);
  return grpc?.code === NOT_FOUND;
}

function fromApplicationFailure(failure: ApplicationFailure): ApiError {
  const [first] = (failure.details ?? []) as [{ kind?: FailureKind; details?: Record<string, unknown> } | undefined];
  if (first?.kind) return fromDomainFailure(first.kind, failure.type ?? 'BUSINESS_RULE_VIOLATION', failure.message, first.details);
  return new ApiError(422, failure.type ?? 'BUSINESS_RULE_VIOLATION', failure.message);
}

function findApplicationFailure(err: unknown): ApplicationFailure | undefined {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof ApplicationFailure) return e;
  return undefined;
}

function grpcOf(err: unknown): { code: number } | undefined {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) if (isGrpcServiceError(e)) return e;
  return undefined;
}

function isUnavailable(err: unknown): boolean {
  if (err instanceof TemporalUnavailableError) return true;
  const grpc = grpcOf(err);
  if (grpc) return grpc.code === UNAVAILABLE || grpc.code === DEADLINE_EXCEEDED;
  return err instanceof ServiceError;
}

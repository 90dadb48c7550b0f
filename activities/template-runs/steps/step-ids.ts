import { createHash } from 'node:crypto';
import type { StepRequest } from '../../../domain/templates/model';

/**
 * The id of what a step creates (a promotion, a deployment job), derived from
 * the run, the node and the forEach item: a step retried by Temporal (a worker
 * that died, a lost heartbeat) reaches the same resource instead of making a
 * second one. `salt` separates the kinds, and a deployment's tries.
 */
export function stepResourceId(request: Pick<StepRequest, 'tenantId' | 'runId' | 'nodeId' | 'itemIndex'>, salt: string): string {
  const hex = createHash('sha256')
    .update(JSON.stringify([request.tenantId, request.runId, request.nodeId, request.itemIndex ?? -1, salt]))
    .digest('hex');
  // Shaped as a version-8 (custom) UUID, so every column and schema that takes a UUID takes it.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What a step's commands are recorded under in audit rows (the request id of an API call). */
export const stepRequestId = (request: Pick<StepRequest, 'runId' | 'nodeId' | 'itemIndex'>) =>
  `template-run:${request.runId}:${request.nodeId}${request.itemIndex === undefined ? '' : `[${request.itemIndex}]`}`;

import { DomainError } from '../errors';
import { FINISHED_RUN_STATUSES, type RunNode, type WorkflowRun } from './model';

/**
 * Whether a run command may enter the run's history now: the `templateRun`
 * workflow's update validators and handlers both ask, so a refused command
 * leaves no trace and the API answers 409/404/422 from the kind.
 */
export type RunCommandKind = 'pause' | 'resume' | 'cancel';

export function checkRunCommand(run: WorkflowRun, command: RunCommandKind): void {
  if (FINISHED_RUN_STATUSES.includes(run.status)) {
    throw new DomainError('invalid_state', 'RUN_FINISHED', `Run ${run.id} is already ${run.status}`, { status: run.status });
  }
  if (run.status === 'cancelling') throw new DomainError('invalid_state', 'RUN_CANCELLING', `Run ${run.id} is being cancelled`, { status: run.status });
  if (command === 'pause' && run.status === 'paused') throw new DomainError('invalid_state', 'RUN_ALREADY_PAUSED', `Run ${run.id} is already paused`, { status: run.status });
  if (command === 'resume' && run.status !== 'paused') throw new DomainError('invalid_state', 'RUN_NOT_PAUSED', `Run ${run.id} is not paused`, { status: run.status });
}

/** The approval node a decision names, if it is waiting for one. */
export function nodeAwaitingDecision(run: WorkflowRun, nodeId: string): RunNode {
  if (FINISHED_RUN_STATUSES.includes(run.status)) {
    throw new DomainError('invalid_state', 'RUN_FINISHED', `Run ${run.id} is already ${run.status}`, { status: run.status });
  }
  const node = run.nodes.find((n) => n.nodeId === nodeId);
  if (!node) throw new DomainError('not_found', 'STEP_NOT_FOUND', `Run ${run.id} has no step ${nodeId}`, { nodeId });
  if (node.type !== 'approval') throw new DomainError('rule', 'NOT_AN_APPROVAL_STEP', `Step ${nodeId} is a ${node.type} step, not an approval`, { nodeId, type: node.type });
  if (node.status !== 'running') {
    throw new DomainError('invalid_state', 'STEP_NOT_AWAITING_DECISION', `Step ${nodeId} is ${node.status}, not waiting for a decision`, { nodeId, status: node.status });
  }
  return node;
}

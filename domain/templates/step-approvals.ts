import { personKey, samePerson, countPeople, type Actor } from '../actor';
import { inApproverGroups, isRequesterOf } from '../approver-rules';
import { DomainError } from '../errors';
import type { ApprovalRequest, RunNode, StepApproval, WorkflowRun } from './model';

/**
 * An approval step's rules, the promotions' own (domain/approver-rules.ts):
 * members of the step's groups decide (none named: holders of
 * template-run:operate), the run's requester may not when separation of
 * duties holds, one vote per person (samePerson), and any rejection fails it.
 */

export interface ApprovalStepInputs {
  approvals: number;
  groups: readonly string[];
  separationOfDuties: boolean;
  expiresIn?: string;
  message?: string;
}

export function checkStepDecider(run: WorkflowRun, node: RunNode, inputs: ApprovalStepInputs, actor: Actor): void {
  if (!inApproverGroups(actor, inputs.groups, 'template-run:operate')) {
    throw new DomainError('forbidden', 'NOT_AN_APPROVER', `Only members of ${inputs.groups.join(', ') || 'a group holding template-run:operate'} may decide step ${node.nodeId}`, {
      nodeId: node.nodeId,
      approverGroups: inputs.groups,
    });
  }
  if (inputs.separationOfDuties && isRequesterOf(actor, { userId: run.requestedBy, email: run.requestedByEmail })) {
    throw new DomainError('forbidden', 'SOD_VIOLATION', 'Separation of duties: the requester of the run cannot decide its approval steps', { nodeId: node.nodeId, requestedBy: run.requestedBy });
  }
  if ((node.approvals ?? []).some((a) => samePerson(actor, { userId: a.approverId, email: a.approverEmail }))) {
    throw new DomainError('invalid_state', 'ALREADY_DECIDED', `You have already decided step ${node.nodeId}`, { nodeId: node.nodeId });
  }
}

export function stepApprovalOf(actor: Actor, decision: StepApproval['decision'], at: string, comment?: string): StepApproval {
  const approval: StepApproval = { approverId: personKey(actor), decision, at };
  if (actor.email) approval.approverEmail = actor.email;
  if (comment) approval.comment = comment;
  return approval;
}

/** Where the decisions leave the step: rejected by anyone, approved by enough distinct people, or still open. */
export function approvalOutcome(approvals: readonly StepApproval[], required: number): { outcome: 'rejected'; by: StepApproval } | { outcome: 'approved'; approvedBy: string[] } | { outcome: 'open'; missing: number } {
  const rejection = approvals.find((a) => a.decision === 'rejected');
  if (rejection) return { outcome: 'rejected', by: rejection };
  const approved = approvals.filter((a) => a.decision === 'approved');
  const people = countPeople(approved.map((a) => ({ userId: a.approverId, email: a.approverEmail })));
  if (people >= required) return { outcome: 'approved', approvedBy: approved.map((a) => a.approverEmail ?? a.approverId) };
  return { outcome: 'open', missing: required - people };
}

/**
 * Whether a waiting approval node would take `actor`'s decision now: the same
 * check the run's decideStep validator makes, on what the node waits for as
 * the run recorded it (an inbox lists exactly the steps a decision would not
 * be refused on).
 */
export function awaitsStepDecisionFrom(run: WorkflowRun, node: RunNode, actor: Actor): node is RunNode & { approval: ApprovalRequest } {
  if (node.type !== 'approval' || node.status !== 'running' || !node.approval) return false;
  try {
    checkStepDecider(run, node, { approvals: node.approval.required, groups: node.approval.groups, separationOfDuties: node.approval.separationOfDuties }, actor);
    return true;
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
}

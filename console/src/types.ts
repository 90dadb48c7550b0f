/** The API's answers as the console reads them: promotions as the domain defines them, and the inbox's items. */
import type { Change } from '../../domain/changes/model';
import type { Promotion } from '../../domain/promotions/model';
import type { ApprovalRequest, StepApproval } from '../../domain/templates/model';

export type { Approval, GateResult as Gate, Promotion } from '../../domain/promotions/model';

export interface Awaiting {
  approvals: number;
  approvers: string[];
  approverGroups: string[];
}

export type { RunNode, WorkflowRun } from '../../domain/templates/model';
export { FINISHED_RUN_STATUSES, RUN_STATUSES } from '../../domain/templates/model';

/** A workflow run's approval step in the inbox; `links` are where its decision goes. */
export interface PendingRunStep {
  kind: 'workflow-step';
  id: string;
  runId: string;
  nodeId: string;
  templateName: string;
  requestedBy: string;
  requestedByEmail: string | null;
  since: string;
  approval: ApprovalRequest;
  approvals: readonly StepApproval[];
  awaiting: Awaiting;
  links: { step: string; approve: string; reject: string };
}

export type PendingItem = (Promotion & { kind: 'promotion'; awaiting: Awaiting }) | (Change & { kind: 'change'; awaiting: Awaiting }) | PendingRunStep;

export interface EvidencePacketSummary {
  id: string;
  decision: string;
  generatedAt: string;
  contentHash: string;
}

export { PROMOTION_STATUSES } from '../../domain/promotions/statuses';

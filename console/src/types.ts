/** The API's answers as the console reads them: promotions as the domain defines them, and the inbox's items. */
import type { Promotion } from '../../domain/promotions/model';

export type { Approval, GateResult as Gate, Promotion } from '../../domain/promotions/model';

export interface Awaiting {
  approvals: number;
  approvers: string[];
  approverGroups: string[];
}

export type PendingItem =
  | (Promotion & { kind: 'promotion'; awaiting: Awaiting })
  | { kind: 'change'; id: string; number?: string; title?: string; created_at?: string; awaiting: Awaiting }
  | { kind: 'workflow-step'; id: string; since: string; runId: string; nodeId: string; templateName: string };

export interface EvidencePacketSummary {
  id: string;
  decision: string;
  generatedAt: string;
  contentHash: string;
}

export { PROMOTION_STATUSES } from '../../domain/promotions/statuses';

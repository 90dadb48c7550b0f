import { endingText, type WorkflowEnding } from '../workflow-endings';
import type { EntityEvent } from '../draft';
import type { Promotion, PromotionStatus } from './model';
import { isFinished, UNDECIDED } from './state-machine';

/**
 * A promotion whose workflow was cancelled in Temporal is `cancelled`; one that
 * was terminated, failed or timed out is `failed` (its statusReason says how).
 * Both are decisions: the row leaves approvers' inboxes and its evidence is signed.
 */
export function markPromotionEnded(p: Promotion, ending: WorkflowEnding, now: string): { next: Promotion; events: EntityEvent[] } | null {
  if (isFinished(p.status)) return null;
  const status: PromotionStatus = ending.how === 'cancelled' ? 'cancelled' : 'failed';
  const statusReason = endingText(ending);
  const next: Promotion = {
    ...p,
    status,
    statusReason,
    decision: 'deny',
    decidedAt: p.decidedAt ?? ending.at,
    completedAt: ending.at,
    heldUntil: null,
    updatedAt: now,
    version: p.version + 1,
  };
  const event: EntityEvent = {
    action: 'promotion.workflow_ended_outside',
    before: { status: p.status, version: p.version, decidedAt: p.decidedAt },
    after: { status, version: next.version, statusReason, workflow: ending },
  };
  return { next, events: [event] };
}

/**
 * Undecided promotions only: from `approved` on, a new run would go on to
 * deploy, and from `deploying` a job may already be at work.
 */
export function promotionResumable(status: PromotionStatus): boolean {
  return UNDECIDED.includes(status);
}

export function resumePromotion(marked: Promotion, previous: { status: PromotionStatus; decidedAt: string | null }, now: string): { next: Promotion; events: EntityEvent[] } {
  const next: Promotion = {
    ...marked,
    status: previous.status,
    statusReason: null,
    decision: null,
    decidedAt: previous.decidedAt,
    completedAt: null,
    updatedAt: now,
    version: marked.version + 1,
  };
  return { next, events: [{ action: 'promotion.reconcile', before: { status: marked.status, version: marked.version }, after: { status: previous.status, version: next.version } }] };
}

import type { PromotionStatus } from './model';

/**
 * The promotion status flow: pending → awaiting_approval → approved → deploying
 * → deployed, with rejected and cancelled as decisions, failed and rolled_back as
 * deployment outcomes, and cancelled again when an operator cancels the
 * deployment job. The spec lists the states as one line; these are the edges.
 */
export const PROMOTION_TRANSITIONS: Readonly<Record<PromotionStatus, readonly PromotionStatus[]>> = {
  pending: ['awaiting_approval', 'approved', 'rejected', 'cancelled'],
  awaiting_approval: ['approved', 'rejected', 'cancelled'],
  // Back to awaiting_approval when what its approvals were bound to moved before it deployed (a new hook, scan or digest).
  approved: ['deploying', 'awaiting_approval', 'cancelled', 'failed'],
  deploying: ['deployed', 'failed', 'rolled_back', 'cancelled'],
  deployed: [],
  rejected: [],
  cancelled: [],
  failed: [],
  rolled_back: [],
};

/** Statuses in which a promotion still takes approvals or cancellation. */
export const UNDECIDED: readonly PromotionStatus[] = ['pending', 'awaiting_approval'];

/** Statuses of a promotion still on its way: a second one of the same release to the same environment waits until it ends. */
export const IN_FLIGHT: readonly PromotionStatus[] = ['pending', 'awaiting_approval', 'approved', 'deploying'];

export function canMove(from: PromotionStatus, to: PromotionStatus): boolean {
  return PROMOTION_TRANSITIONS[from].includes(to);
}

export function isFinished(status: PromotionStatus): boolean {
  return PROMOTION_TRANSITIONS[status].length === 0;
}

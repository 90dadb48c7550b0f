import type { Promotion, PromotionStatus } from './model';

/**
 * Which decision a status records in a signed evidence packet; expiry is a
 * cancellation with its own name. Statuses on the way (awaiting, held,
 * deploying) make no packet. The activity that signs and the workflow's
 * summary of it both ask here, so the summary never claims a packet that was not made.
 */
export function evidenceDecisionOf(p: Pick<Promotion, 'status' | 'statusReason'>): string | undefined {
  const byStatus: Partial<Record<PromotionStatus, string>> = {
    approved: 'approved',
    rejected: 'rejected',
    cancelled: p.statusReason === 'approval_expired' ? 'expired' : 'cancelled',
    deployed: 'deployed',
    failed: 'failed',
    rolled_back: 'rolled_back',
  };
  return byStatus[p.status];
}

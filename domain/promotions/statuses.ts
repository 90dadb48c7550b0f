/** Every promotion status, in flow order (the spec's status line). */
export const PROMOTION_STATUSES = ['pending', 'awaiting_approval', 'approved', 'deploying', 'deployed', 'rejected', 'cancelled', 'failed', 'rolled_back'] as const;

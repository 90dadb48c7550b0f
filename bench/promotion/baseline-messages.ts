import { defineUpdate } from '@temporalio/workflow';

/** Messages of the promotion baseline workflow; the driver imports these, never the workflow. */

export const PROMOTION_BASELINE_TYPE = 'promotionBaseline';

export type BaselineStatus = 'pending' | 'awaiting_approval' | 'approved' | 'deploying' | 'deployed';

export const create = defineUpdate<BaselineStatus>('create');
export const approve = defineUpdate<BaselineStatus>('approve');

import { defineUpdate } from '@temporalio/workflow';

/** Messages of the baseline workflow; the driver imports these, never the workflow. */

export const BASELINE_WORKFLOW_TYPE = 'baselineEntity';

export type BaselineState = 'draft' | 'submitted' | 'cab_review' | 'scheduled' | 'in_progress' | 'completed' | 'closed';

export const create = defineUpdate<BaselineState>('create');
export const submit = defineUpdate<BaselineState>('submit');
export const submitCab = defineUpdate<BaselineState>('submitCab');
export const approve = defineUpdate<BaselineState>('approve');
export const start = defineUpdate<BaselineState>('start');
export const complete = defineUpdate<BaselineState>('complete');
export const close = defineUpdate<BaselineState>('close');

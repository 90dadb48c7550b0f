import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type {
  ApproveInput,
  CancelInput,
  CreateChangeInput,
  PatchChangeInput,
  RejectInput,
  ReviewInput,
  SubmitCabInput,
  SubmitInput,
} from '../../domain/changes/commands';
import type { Change, ChangeSettings } from '../../domain/changes/model';

/**
 * Messages of the `changeLifecycle` workflow. The API sends them through these
 * definitions and refers to the workflow function only as a type (for its
 * start arguments), so no workflow code is loaded outside the worker.
 */

export const CHANGE_WORKFLOW_TYPE = 'changeLifecycle';

// Callers building an update's arguments find the sender's shape here too.
export type { CommandMeta };

export interface ChangeWorkflowInput {
  tenantId: string;
  changeId: string;
  number: number;
  settings: ChangeSettings;
  /** State carried across continue-as-new. */
  carried?: Change;
  /** Continue-as-new past this many history events; Temporal's own suggestion applies regardless (tests set it low). */
  maxHistoryEvents?: number;
}

export interface ChangeWorkflowResult {
  id: string;
  state: string;
}

export const createChange = defineUpdate<Change, [CreateChangeInput, CommandMeta]>('create');
export const patchChange = defineUpdate<Change, [PatchChangeInput, CommandMeta]>('patch');
export const submitChange = defineUpdate<Change, [SubmitInput, CommandMeta]>('submit');
export const submitCab = defineUpdate<Change, [SubmitCabInput, CommandMeta]>('submitCab');
export const approveChange = defineUpdate<Change, [ApproveInput, CommandMeta]>('approve');
export const rejectChange = defineUpdate<Change, [RejectInput, CommandMeta]>('reject');
export const cancelChange = defineUpdate<Change, [CancelInput, CommandMeta]>('cancel');
export const reviewChange = defineUpdate<Change, [ReviewInput, CommandMeta]>('review');

export const getChange = defineQuery<Change | null>('getChange');

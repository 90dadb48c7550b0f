import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor, ChangeSettings, CreateChangeInput, PatchChangeInput, ReviewInput, SubmitCabInput } from '../../domain/changes/commands';
import type { Change } from '../../domain/changes/model';

/** Messages of the `changeLifecycle` workflow; the API imports these definitions, never the workflow. */

export const CHANGE_WORKFLOW_TYPE = 'changeLifecycle';

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

/** Who sent a command and under which API request, for audit rows. */
export interface CommandMeta {
  actor: Actor;
  requestId?: string;
}

export const createChange = defineUpdate<Change, [CreateChangeInput, CommandMeta]>('create');
export const patchChange = defineUpdate<Change, [PatchChangeInput, CommandMeta]>('patch');
export const submitChange = defineUpdate<Change, [Record<string, never>, CommandMeta]>('submit');
export const submitCab = defineUpdate<Change, [SubmitCabInput, CommandMeta]>('submitCab');
export const approveChange = defineUpdate<Change, [{ comment?: string | null }, CommandMeta]>('approve');
export const rejectChange = defineUpdate<Change, [{ reason: string; comment?: string | null }, CommandMeta]>('reject');
export const cancelChange = defineUpdate<Change, [{ reason?: string | null }, CommandMeta]>('cancel');
export const reviewChange = defineUpdate<Change, [ReviewInput, CommandMeta]>('review');

export const getChange = defineQuery<Change | null>('getChange');

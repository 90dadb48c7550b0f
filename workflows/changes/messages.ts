import type { SearchAttributePair, SearchAttributeUpdatePair } from '@temporalio/common';
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
} from '../../domain/changes/requests';
import type { Change, ChangeSettings } from '../../domain/changes/model';
import { SA } from '../../domain/search-attributes';

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

/** What the API knows of a change when it starts its workflow: the request, or the record a reconcile restarts from. */
export type ChangeAtStart = Pick<Change, 'id' | 'type' | 'state'>;

/**
 * A change's search attributes, one list for both ends: the API's start sets
 * what the request says; once the change is persisted the workflow adds its
 * risk, assignment group and flags, and upserts what moved. Running workflows
 * replay their upserts, so a new value or order needs `patched()`. The title
 * is given at starts only.
 */
export function searchAttributesOf(tenantId: string, change: Change): SearchAttributeUpdatePair[];
export function searchAttributesOf(tenantId: string, change: ChangeAtStart, title?: string): SearchAttributePair[];
export function searchAttributesOf(tenantId: string, change: Change | ChangeAtStart, title?: string): SearchAttributeUpdatePair[] {
  const attributes: SearchAttributeUpdatePair[] = [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'change' },
    { key: SA.resourceId, value: change.id },
    { key: SA.state, value: change.state },
    { key: SA.type, value: change.type },
  ];
  if (!('version' in change)) return title === undefined ? attributes : [...attributes, { key: SA.title, value: title }];
  const flags = [...(change.window_overrun ? ['window_overrun'] : []), ...(change.review_overdue ? ['review_overdue'] : [])];
  return [
    ...attributes,
    { key: SA.riskLevel, value: change.risk_level },
    { key: SA.assignmentGroup, value: change.assignment_group ?? null },
    { key: SA.flags, value: flags.length ? flags : null },
  ];
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

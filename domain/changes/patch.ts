import type { Draft } from '../draft';
import { DomainError } from '../errors';
import { normaliseApprovers } from './cab';
import { close, finish, review, start, submit, submitCab } from './lifecycle';
import type { Change, ChangeState, DecideContext } from './model';
import type { CreateChangeInput, PatchChangeInput } from './requests';
import { checkSchedule } from './schedule';
import { allowedNextStates, isTerminal } from './state-machine';
import { invalidState, transition } from './transition';

/**
 * A PATCH of a change: which fields may be edited in which state, and a
 * requested state routed through the step that owns that edge, so a PATCH can
 * do nothing its command could not.
 */

/** Fields editable only while the plan is open (draft, or a revision after rejection). */
const PLAN_FIELDS = ['type', 'short_description', 'description', 'implementation_plan', 'backout_plan', 'test_plan', 'risk', 'ci_id', 'cab_approvers', 'cab_quorum'] as const;
const SCHEDULE_FIELDS = ['scheduled_start', 'scheduled_end'] as const;
const SCHEDULE_EDITABLE_IN: ChangeState[] = ['draft', 'submitted', 'cab_review', 'scheduled', 'in_progress'];

export function patch(draft: Draft<Change>, input: PatchChangeInput, ctx: DecideContext): void {
  const { state: target, actual_start, actual_end, review: reviewInput, ...fields } = input;
  if (reviewInput) {
    if (Object.keys(fields).length || target !== undefined) {
      throw new DomainError('invalid_input', 'REVIEW_WITH_OTHER_FIELDS', 'Send a review on its own (or use POST /changes/{id}/review)');
    }
    review(draft, reviewInput, ctx);
    return;
  }
  if (actual_start !== undefined && target !== 'in_progress') {
    throw new DomainError('invalid_input', 'ACTUAL_START_WITHOUT_START', 'actual_start can only be set together with "state": "in_progress"');
  }
  if (actual_end !== undefined && target !== 'completed' && target !== 'failed') {
    throw new DomainError('invalid_input', 'ACTUAL_END_WITHOUT_FINISH', 'actual_end can only be set together with "state": "completed" or "failed"');
  }
  const revising = target === 'draft' && draft.value.state !== 'draft';
  if (revising) moveTo(draft, 'draft', {}, ctx);
  editFields(draft, fields, ctx);
  if (target !== undefined && target !== draft.value.state) moveTo(draft, target, { actual_start, actual_end }, ctx);
}

function editFields(draft: Draft<Change>, fields: Partial<CreateChangeInput>, ctx: DecideContext): void {
  const keys = Object.keys(fields) as (keyof CreateChangeInput)[];
  if (keys.length === 0) return;
  const state = draft.value.state;
  if (isTerminal(state)) throw invalidState(draft.value, `A ${state} change cannot be edited`, 'CHANGE_CLOSED');
  const locked: string[] = [];
  for (const key of keys) {
    if ((PLAN_FIELDS as readonly string[]).includes(key) && state !== 'draft') locked.push(key);
    if ((SCHEDULE_FIELDS as readonly string[]).includes(key)) {
      if (!SCHEDULE_EDITABLE_IN.includes(state) || (state === 'in_progress' && key === 'scheduled_start')) locked.push(key);
    }
  }
  if (locked.length) {
    throw new DomainError(
      'invalid_state',
      'FIELD_NOT_EDITABLE',
      `${locked.join(', ')} cannot be changed while the change is ${state}; plan fields are editable only in draft (revise a rejected change with "state": "draft")`,
      { current_state: state, fields: locked, allowed_next_states: allowedNextStates(draft.value) },
    );
  }
  const next: Partial<Change> = {};
  for (const key of keys) {
    if (key === 'cab_approvers') next.cab_approvers = normaliseApprovers(fields.cab_approvers);
    else (next as Record<string, unknown>)[key] = fields[key] ?? null;
  }
  const start = 'scheduled_start' in next ? (next.scheduled_start ?? null) : draft.value.scheduled_start;
  const end = 'scheduled_end' in next ? (next.scheduled_end ?? null) : draft.value.scheduled_end;
  // Both ends in the request: the request itself is wrong (400). One end: it is wrong against the change's other end (422).
  checkSchedule(start, end, 'scheduled_start' in next && 'scheduled_end' in next ? 'invalid_input' : 'rule');
  if (next.type) {
    next.cab_approval_required = next.type === 'normal';
    next.review_required = next.type === 'emergency';
  }
  // A window moved into the future has not opened yet.
  if (start && draft.value.window_opened_at && Date.parse(start) > Date.parse(ctx.now)) next.window_opened_at = null;
  const before = draft.value;
  draft.apply(SCHEDULE_FIELDS.some((f) => f in next) && before.state !== 'draft' ? 'change.reschedule' : 'change.update', next);
}

/** A PATCH asking for a state: route it through the command that owns that edge. */
function moveTo(draft: Draft<Change>, target: ChangeState, extra: { actual_start?: string; actual_end?: string }, ctx: DecideContext): void {
  const change = draft.value;
  switch (target) {
    case 'submitted':
      return submit(draft, ctx);
    case 'cab_review':
      return submitCab(draft, {});
    case 'in_progress':
      return start(draft, extra.actual_start, ctx);
    case 'completed':
    case 'failed':
      return finish(draft, target, extra.actual_end, ctx);
    case 'post_review':
      return transition(draft, 'post_review', 'change.post_review', {});
    case 'closed':
      return close(draft, ctx);
    case 'cancelled':
      return transition(draft, 'cancelled', 'change.cancel', { cancelled_at: ctx.now });
    case 'draft':
      return transition(draft, 'draft', 'change.revise', { rejection_reason: change.rejection_reason });
    case 'scheduled':
      if (change.state === 'cab_review') throw invalidState(change, 'A change under CAB review is scheduled only by its approvals', 'CAB_APPROVAL_REQUIRED', target);
      return transition(draft, 'scheduled', 'change.schedule', {});
    case 'rejected':
      if (change.state === 'cab_review') throw invalidState(change, 'Use POST /changes/{id}/reject to reject a change', 'USE_REJECT', target);
      return transition(draft, 'rejected', 'change.reject', {});
  }
}

import type { z } from 'zod';
import type { Actor } from '../actor';
import { Draft, type EntityEvent } from '../draft';
import { DomainError } from '../errors';
import type { Approval, Change, ChangeSettings, ChangeState, ChangeType, RiskAssessment } from './model';
import { changeNumberToId, RISK_INPUT_FIELDS } from './model';
import { planSubstance } from './risk';
import type { approveSchema, cancelSchema, createChangeSchema, patchChangeSchema, rejectSchema, reviewSchema, submitCabSchema } from './requests';
import { allowedNextStates, canTransition, isTerminal, isWorkFinished } from './state-machine';
import { cabProgress, isRequester } from './cab';
import { authorize } from './permissions';
import { dueDeadlines, windowProblem } from './deadlines';

/**
 * Every change rule, written once. The workflow's update validators call
 * `decide` to refuse a command before it enters history; its handlers call it
 * again under the workflow's lock (state may have moved meanwhile) and apply
 * the result. Pure: time, the actor and settings come in as arguments. Every
 * command is authorized here first (permissions.ts), so no route or PATCH
 * body can reach a rule its caller may not invoke.
 */

// Each command's input is its request body as validated (requests.ts): declared once, there.
export type CreateChangeInput = z.infer<typeof createChangeSchema>;
export type PatchChangeInput = z.infer<typeof patchChangeSchema>;
export type SubmitCabInput = z.infer<typeof submitCabSchema>;
export type ApproveInput = z.infer<typeof approveSchema>;
export type RejectInput = z.infer<typeof rejectSchema>;
export type CancelInput = z.infer<typeof cancelSchema>;
export type ReviewInput = z.infer<typeof reviewSchema>;
/** Submitting takes no body. */
export type SubmitInput = Record<string, never>;

export type ChangeCommand =
  | { kind: 'create'; input: CreateChangeInput }
  | { kind: 'patch'; input: PatchChangeInput }
  | { kind: 'submit' }
  | { kind: 'submit_cab'; input: SubmitCabInput }
  | { kind: 'approve'; input: ApproveInput }
  | { kind: 'reject'; input: RejectInput }
  | { kind: 'cancel'; input: CancelInput }
  | { kind: 'review'; input: ReviewInput }
  | { kind: 'tick' };

export interface ChangeDecision {
  next: Change;
  events: EntityEvent[];
  /** The change's risk inputs moved: assess again before persisting. */
  rescore: boolean;
}

export interface DecideContext {
  now: string;
  settings: ChangeSettings;
  actor: Actor;
  /** Only for create: the allocated number. */
  number?: number;
}

/** Fields editable only while the plan is open (draft, or a revision after rejection). */
const PLAN_FIELDS = ['type', 'short_description', 'description', 'implementation_plan', 'backout_plan', 'test_plan', 'risk', 'ci_id', 'cab_approvers', 'cab_quorum'] as const;
const SCHEDULE_FIELDS = ['scheduled_start', 'scheduled_end'] as const;
const SCHEDULE_EDITABLE_IN: ChangeState[] = ['draft', 'submitted', 'cab_review', 'scheduled', 'in_progress'];

/** A new change's risk until the assessment that runs before its first persist replaces it; never stored. */
export const UNASSESSED: RiskAssessment = {
  risk_score: 0,
  risk_level: 'low',
  factors: [],
  recommendation: '',
  model_version: 'unassessed',
  assessed_at: '1970-01-01T00:00:00.000Z',
};

export function decide(current: Change | undefined, command: ChangeCommand, ctx: DecideContext): ChangeDecision {
  if (command.kind === 'create') {
    authorize(undefined, command, ctx.actor);
    if (current) throw new DomainError('invalid_state', 'ALREADY_EXISTS', `Change ${current.id} already exists`);
    return create(command.input, ctx);
  }
  if (!current) throw new DomainError('not_found', 'NOT_FOUND', 'The change does not exist yet');
  authorize(current, command, ctx.actor);
  const draft = new Draft(current);
  switch (command.kind) {
    case 'patch':
      patch(draft, command.input, ctx);
      break;
    case 'submit':
      submit(draft, ctx);
      break;
    case 'submit_cab':
      submitCab(draft, command.input);
      break;
    case 'approve':
      approve(draft, command.input.comment ?? null, ctx);
      break;
    case 'reject':
      reject(draft, command.input.reason, command.input.comment ?? null, ctx);
      break;
    case 'cancel':
      transition(draft, 'cancelled', 'change.cancel', { cancelled_at: ctx.now });
      break;
    case 'review':
      review(draft, command.input, ctx);
      break;
    case 'tick':
      tick(draft, ctx);
      break;
  }
  return result(draft, ctx);
}

/** A command's edits as the next version, and whether they moved a risk input (so the risk is assessed again). */
function result(draft: Draft<Change>, ctx: DecideContext): ChangeDecision {
  if (!draft.changed) return { next: draft.original, events: [], rescore: false };
  const rescore = RISK_INPUT_FIELDS.some((f) => JSON.stringify(draft.original[f]) !== JSON.stringify(draft.value[f]));
  return { next: { ...draft.value, updated_at: ctx.now, version: draft.original.version + 1 }, events: draft.events, rescore };
}

function create(input: CreateChangeInput, ctx: DecideContext): ChangeDecision {
  if (ctx.number === undefined) throw new DomainError('invalid_input', 'NUMBER_REQUIRED', 'A change number must be allocated');
  checkSchedule(input.scheduled_start ?? null, input.scheduled_end ?? null);
  const requester = ctx.actor.email ?? ctx.actor.userId;
  const change: Change = {
    id: changeNumberToId(ctx.number),
    number: ctx.number,
    type: input.type,
    state: 'draft',
    short_description: input.short_description,
    description: input.description ?? null,
    risk: input.risk ?? null,
    risk_score: UNASSESSED.risk_score,
    risk_level: UNASSESSED.risk_level,
    risk_assessment: UNASSESSED,
    implementation_plan: input.implementation_plan ?? null,
    backout_plan: input.backout_plan ?? null,
    test_plan: input.test_plan ?? null,
    cab_approval_required: input.type === 'normal',
    cab_approvers: normaliseApprovers(input.cab_approvers),
    cab_quorum: input.cab_quorum ?? null,
    cab_meeting_date: null,
    cab_notes: null,
    cab_round: 0,
    approvals: [],
    rejection_reason: null,
    scheduled_start: input.scheduled_start ?? null,
    scheduled_end: input.scheduled_end ?? null,
    actual_start: null,
    actual_end: null,
    window_opened_at: null,
    window_overrun: false,
    assignment_group: input.assignment_group ?? null,
    assigned_to: input.assigned_to ?? null,
    ci_id: input.ci_id ?? null,
    conflicts: [],
    requested_by: requester,
    requested_by_id: ctx.actor.userId,
    outcome: null,
    review_required: input.type === 'emergency',
    review_due_at: null,
    review_overdue: false,
    reviewed_at: null,
    reviewed_by: null,
    review_outcome: null,
    review_notes: null,
    submitted_at: null,
    closed_at: null,
    cancelled_at: null,
    created_at: ctx.now,
    updated_at: ctx.now,
    version: 1,
  };
  return { next: change, events: [{ action: 'change.create', before: null, after: { ...change } }], rescore: true };
}

function patch(draft: Draft<Change>, input: PatchChangeInput, ctx: DecideContext): void {
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

function transition(draft: Draft<Change>, to: ChangeState, action: string, patch: Partial<Change>): void {
  if (!canTransition(draft.value, to)) {
    throw invalidState(draft.value, `${aChangeOf(draft.value.type)} cannot go from ${draft.value.state} to ${to}`, 'INVALID_STATE_TRANSITION', to);
  }
  draft.apply(action, { ...patch, state: to });
}

function submit(draft: Draft<Change>, ctx: DecideContext): void {
  const change = draft.value;
  if (change.state !== 'draft') throw invalidState(change, `Only a draft can be submitted; this change is ${change.state}`, 'INVALID_STATE_TRANSITION', 'submitted');
  const missing: string[] = [];
  if (change.type !== 'emergency' && (!change.scheduled_start || !change.scheduled_end)) missing.push('scheduled_start', 'scheduled_end');
  if (change.type === 'normal') {
    if (planSubstance(change.implementation_plan) === 'absent') missing.push('implementation_plan');
    if (planSubstance(change.backout_plan) === 'absent') missing.push('backout_plan');
  }
  if (missing.length) {
    throw new DomainError('rule', 'SUBMISSION_INCOMPLETE', `${aChangeOf(change.type)} needs ${missing.join(', ')} before it can be submitted`, { missing });
  }
  if (change.scheduled_end && Date.parse(change.scheduled_end) <= Date.parse(ctx.now)) {
    throw new DomainError('rule', 'MAINTENANCE_WINDOW_PASSED', 'The maintenance window has already ended; reschedule before submitting', {
      scheduled_end: change.scheduled_end,
    });
  }
  transition(draft, 'submitted', 'change.submit', { submitted_at: ctx.now });
  // Standard changes are pre-approved and emergencies cannot wait for CAB.
  if (change.type !== 'normal') transition(draft, 'scheduled', 'change.schedule', {});
}

function submitCab(draft: Draft<Change>, input: SubmitCabInput): void {
  const change = draft.value;
  if (change.type !== 'normal') {
    throw new DomainError('rule', 'CAB_NOT_APPLICABLE', `${change.type} changes do not go through CAB review; only normal changes do`, { type: change.type });
  }
  if (!canTransition(change, 'cab_review')) {
    throw invalidState(change, `Only a submitted change can go to CAB; this change is ${change.state}`, 'INVALID_STATE_TRANSITION', 'cab_review');
  }
  const patch: Partial<Change> = {
    state: 'cab_review',
    cab_round: change.cab_round + 1,
    cab_meeting_date: input.cab_meeting_date ?? null,
    cab_notes: input.notes ?? null,
    rejection_reason: null,
  };
  if (input.cab_approvers !== undefined) patch.cab_approvers = normaliseApprovers(input.cab_approvers);
  if (input.cab_quorum !== undefined) patch.cab_quorum = input.cab_quorum;
  draft.apply('change.submit_cab', patch);
}

function checkApprover(draft: Draft<Change>, actor: Actor): void {
  const change = draft.value;
  if (change.state !== 'cab_review') {
    throw invalidState(change, `Only a change under CAB review can be decided; this change is ${change.state}`, 'NOT_UNDER_REVIEW');
  }
  if (isRequester(change, actor)) {
    throw new DomainError('forbidden', 'SOD_VIOLATION', 'Separation of duties: the requester cannot approve or reject their own change', {
      requested_by: change.requested_by,
    });
  }
  const prior = change.approvals.find((a) => a.round === change.cab_round && a.approver_id === actor.userId);
  if (prior) {
    throw new DomainError('invalid_state', 'ALREADY_DECIDED', `You already ${prior.decision} this change at ${prior.decided_at}`, {
      current_state: change.state,
      decision: prior.decision,
    });
  }
}

function record(draft: Draft<Change>, decision: Approval['decision'], comment: string | null, ctx: DecideContext): Approval[] {
  const actor = ctx.actor;
  return [
    ...draft.value.approvals,
    { approver: actor.email ?? actor.userId, approver_id: actor.userId, decision, comment, decided_at: ctx.now, round: draft.value.cab_round },
  ];
}

function approve(draft: Draft<Change>, comment: string | null, ctx: DecideContext): void {
  checkApprover(draft, ctx.actor);
  draft.apply('change.approve', { approvals: record(draft, 'approved', comment, ctx) });
  if (cabProgress(draft.value, ctx.settings).complete) transition(draft, 'scheduled', 'change.schedule', {});
}

function reject(draft: Draft<Change>, reason: string, comment: string | null, ctx: DecideContext): void {
  checkApprover(draft, ctx.actor);
  draft.apply('change.reject', { approvals: record(draft, 'rejected', comment ?? reason, ctx), rejection_reason: reason, state: 'rejected' });
}

function start(draft: Draft<Change>, actualStart: string | undefined, ctx: DecideContext): void {
  const change = draft.value;
  if (!canTransition(change, 'in_progress')) {
    throw invalidState(change, `Work can start only on a scheduled change; this change is ${change.state}`, 'INVALID_STATE_TRANSITION', 'in_progress');
  }
  const problem = windowProblem(change, ctx.now);
  if (problem) throw problem;
  transition(draft, 'in_progress', 'change.start', { actual_start: actualStart ?? ctx.now });
}

function finish(draft: Draft<Change>, to: 'completed' | 'failed', actualEnd: string | undefined, ctx: DecideContext): void {
  const change = draft.value;
  const patch: Partial<Change> = { actual_end: actualEnd ?? ctx.now, outcome: to === 'completed' ? 'successful' : 'failed' };
  if (change.review_required) patch.review_due_at = new Date(Date.parse(ctx.now) + ctx.settings.reviewDeadlineMs).toISOString();
  transition(draft, to, to === 'completed' ? 'change.complete' : 'change.fail', patch);
}

function close(draft: Draft<Change>, ctx: DecideContext): void {
  const change = draft.value;
  if (change.state === 'post_review' || (change.state === 'completed' && change.review_required)) {
    if (!change.reviewed_at) {
      throw new DomainError('rule', 'REVIEW_REQUIRED', 'A post-implementation review must be recorded before this change can close (POST /changes/{id}/review)', {
        review_due_at: change.review_due_at,
      });
    }
  }
  transition(draft, 'closed', 'change.close', { closed_at: ctx.now });
}

function review(draft: Draft<Change>, input: ReviewInput, ctx: DecideContext): void {
  const change = draft.value;
  if (!isWorkFinished(change.state)) {
    throw invalidState(change, `A post-implementation review is recorded after the change completes or fails; this change is ${change.state}`, 'NOT_REVIEWABLE');
  }
  const actor = ctx.actor;
  if (isRequester(change, actor)) {
    throw new DomainError('forbidden', 'SOD_VIOLATION', 'Separation of duties: the requester cannot review their own change', {
      requested_by: change.requested_by,
    });
  }
  draft.apply('change.review', {
    reviewed_at: ctx.now,
    reviewed_by: actor.email ?? actor.userId,
    review_outcome: input.outcome,
    review_notes: input.notes,
  });
  if (draft.value.state === 'failed') transition(draft, 'post_review', 'change.post_review', {});
  transition(draft, 'closed', 'change.close', { closed_at: ctx.now });
}

/** Deadlines the workflow's timers fire for. */
function tick(draft: Draft<Change>, ctx: DecideContext): void {
  const change = draft.value;
  const now = Date.parse(ctx.now);
  for (const due of dueDeadlines(change, now)) {
    if (due.kind === 'window_open') draft.apply('change.window_opened', { window_opened_at: change.scheduled_start });
    if (due.kind === 'window_overrun') draft.apply('change.window_overrun', { window_overrun: true });
    if (due.kind === 'review_overdue') draft.apply('change.review_overdue', { review_overdue: true });
  }
}

function checkSchedule(start: string | null, end: string | null, kind: 'invalid_input' | 'rule' = 'invalid_input'): void {
  if ((start === null) !== (end === null)) {
    throw new DomainError(kind, 'INCOMPLETE_WINDOW', 'scheduled_start and scheduled_end are set together', { scheduled_start: start, scheduled_end: end });
  }
  if (start && end && Date.parse(end) <= Date.parse(start)) {
    throw new DomainError(kind, 'INVALID_WINDOW', 'scheduled_end must be after scheduled_start', { scheduled_start: start, scheduled_end: end });
  }
}

function aChangeOf(type: ChangeType): string {
  return `${type === 'emergency' ? 'An' : 'A'} ${type} change`;
}

function normaliseApprovers(list: string[] | undefined | null): string[] {
  return [...new Set((list ?? []).map((a) => a.trim().toLowerCase()).filter(Boolean))];
}

function invalidState(change: Change, message: string, code: string, requested?: ChangeState): DomainError {
  return new DomainError('invalid_state', code, message, {
    current_state: change.state,
    allowed_next_states: allowedNextStates(change),
    ...(requested ? { requested_state: requested } : {}),
  });
}

/** Applies a new assessment (and the conflicts it found) without counting as a separate command. */
export function withAssessment(change: Change, assessment: RiskAssessment, conflicts: Change['conflicts']): Change {
  return { ...change, risk_score: assessment.risk_score, risk_level: assessment.risk_level, risk_assessment: assessment, conflicts };
}

/** What an assessment changes that the caller is answered with, and so the audit trail records. */
const ASSESSED_FIELDS = ['risk_score', 'risk_level', 'conflicts'] as const;

/**
 * A decision as it is persisted once the assessment it asked for has run: the
 * change carries the new score and so do its audit events, so the trail shows
 * what the caller saw. A create's snapshot is the assessed change; an edit that
 * moved the score records the move on the event that edited a risk input.
 */
export function withAssessedDecision(decision: ChangeDecision, assessment: RiskAssessment, conflicts: Change['conflicts']): ChangeDecision {
  const unassessed = decision.next;
  const next = withAssessment(unassessed, assessment, conflicts);
  const moved = ASSESSED_FIELDS.filter((f) => JSON.stringify(unassessed[f]) !== JSON.stringify(next[f]));
  const pick = (c: Change) => Object.fromEntries(moved.map((f) => [f, c[f]]));
  const cause = decision.events.findLastIndex((e) => RISK_INPUT_FIELDS.some((f) => f in e.after));
  const events = decision.events.map((event, i) => {
    if (event.before === null) return { ...event, after: { ...next } };
    if (i !== cause || moved.length === 0) return event;
    return { ...event, before: { ...event.before, ...pick(unassessed) }, after: { ...event.after, ...pick(next) } };
  });
  return { ...decision, next, events };
}

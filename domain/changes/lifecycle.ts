import type { Draft } from '../draft';
import { DomainError } from '../errors';
import { isRequester, normaliseApprovers } from './cab';
import { windowProblem } from './deadlines';
import type { Change, DecideContext } from './model';
import type { ReviewInput, SubmitCabInput } from './requests';
import { planSubstance } from './risk';
import { isWorkFinished, canTransition } from './state-machine';
import { aChangeOf, invalidState, transition } from './transition';

/**
 * The steps of a change's life from draft to closed, each on a Draft: submit,
 * send to CAB, start work, finish it, record the post-implementation review,
 * close. Its own command reaches each step (commands.ts), and so does a PATCH
 * asking for the state the step leads to (patch.ts).
 */

export function submit(draft: Draft<Change>, ctx: DecideContext): void {
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

export function submitCab(draft: Draft<Change>, input: SubmitCabInput): void {
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

export function start(draft: Draft<Change>, actualStart: string | undefined, ctx: DecideContext): void {
  const change = draft.value;
  if (!canTransition(change, 'in_progress')) {
    throw invalidState(change, `Work can start only on a scheduled change; this change is ${change.state}`, 'INVALID_STATE_TRANSITION', 'in_progress');
  }
  const problem = windowProblem(change, ctx.now);
  if (problem) throw problem;
  transition(draft, 'in_progress', 'change.start', { actual_start: actualStart ?? ctx.now });
}

export function finish(draft: Draft<Change>, to: 'completed' | 'failed', actualEnd: string | undefined, ctx: DecideContext): void {
  const change = draft.value;
  const patch: Partial<Change> = { actual_end: actualEnd ?? ctx.now, outcome: to === 'completed' ? 'successful' : 'failed' };
  if (change.review_required) patch.review_due_at = new Date(Date.parse(ctx.now) + ctx.settings.reviewDeadlineMs).toISOString();
  transition(draft, to, to === 'completed' ? 'change.complete' : 'change.fail', patch);
}

export function close(draft: Draft<Change>, ctx: DecideContext): void {
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

export function review(draft: Draft<Change>, input: ReviewInput, ctx: DecideContext): void {
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

import type { Actor } from '../actor';
import { normaliseApprovers } from './cab';
import { changeNumberToId, type Change, type RiskAssessment } from './model';
import type { CreateChangeInput } from './requests';

/** A new change's risk until the assessment that runs before its first persist replaces it; never stored. */
export const UNASSESSED: RiskAssessment = {
  risk_score: 0,
  risk_level: 'low',
  factors: [],
  recommendation: '',
  model_version: 'unassessed',
  assessed_at: '1970-01-01T00:00:00.000Z',
};

/** A change as its create request makes it: a draft, unassessed, with the number allocated for it. */
export function newChange(input: CreateChangeInput, number: number, ctx: { now: string; actor: Actor }): Change {
  const requester = ctx.actor.email ?? ctx.actor.userId;
  return {
    id: changeNumberToId(number),
    number,
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
}

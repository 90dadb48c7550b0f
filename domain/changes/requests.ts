import { z } from 'zod';
import { acrossFields } from '../cross-field';
import { instant as storableInstant } from '../instant';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { CHANGE_STATES, CHANGE_TYPES, REVIEW_OUTCOMES, RISK_LEVELS } from './model';

/** Request bodies of the Changes API, with the spec's field names. */

const instant = storableInstant();
const text = (max: number) => storableText().trim().max(max);
const plan = text(20_000).nullable().optional();
// The pattern z.email() checks, stated in the document (format: email alone admits addresses zod refuses).
const approvers = z.array(z.email({ message: 'must be an email address' }).max(320).meta({ pattern: z.regexes.email.source })).max(50);

const editable = {
  short_description: text(255).min(1, { message: 'is required' }).meta({ description: 'One-line summary, max 255 chars', allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] }),
  description: text(10_000).nullable().optional(),
  implementation_plan: plan.meta({ description: 'Step-by-step implementation instructions' }),
  backout_plan: plan.meta({ description: 'Rollback procedure if the change fails' }),
  test_plan: plan,
  risk: z.enum(RISK_LEVELS).nullable().optional().meta({ description: "The requester's own risk estimate; the computed one is risk_level" }),
  scheduled_start: instant.nullable().optional().meta({ description: 'Planned start of the maintenance window (ISO 8601)' }),
  scheduled_end: instant.nullable().optional().meta({ description: 'Planned end of the maintenance window (ISO 8601)' }),
  assignment_group: text(255).nullable().optional(),
  assigned_to: text(320).nullable().optional(),
  ci_id: text(64).nullable().optional().meta({ description: 'Configuration item the change touches' }),
  cab_approvers: approvers.optional().meta({ description: 'Required CAB approver emails' }),
  cab_quorum: z.number().int().min(1).max(50).nullable().optional().meta({ description: 'Approvals needed; default: every listed approver' }),
};

/** A maintenance window is both ends or neither, and ends after it starts. */
const windowIssues = (v: { scheduled_start?: string | null; scheduled_end?: string | null }, ctx: z.RefinementCtx) => {
  const start = v.scheduled_start ?? null;
  const end = v.scheduled_end ?? null;
  if ((start === null) !== (end === null)) {
    ctx.addIssue({ code: 'custom', path: [start === null ? 'scheduled_start' : 'scheduled_end'], message: 'scheduled_start and scheduled_end are set together', params: { code: 'incomplete_window' } });
  } else if (start && end && Date.parse(end) <= Date.parse(start)) {
    ctx.addIssue({ code: 'custom', path: ['scheduled_end'], message: 'must be after scheduled_start', params: { code: 'invalid_window' } });
  }
};

export const createChangeSchema = z
  .strictObject({ type: z.enum(CHANGE_TYPES), ...editable })
  .superRefine(windowIssues, acrossFields('scheduled_start', 'scheduled_end'))
  .meta({
    id: 'ChangeCreate',
    example: {
      type: 'normal',
      short_description: 'Deploy StackFlowAPI v2026.2 release',
      implementation_plan: '1. Upload new Lambda ZIP\n2. Update alias to new version\n3. Monitor error rate for 15 min',
      backout_plan: '1. Update Lambda alias back to previous version',
      test_plan: 'Run API smoke tests, verify health endpoint, check CloudWatch alarms',
      risk: 'low',
      scheduled_start: '2026-05-22T01:00:00Z',
      scheduled_end: '2026-05-22T02:00:00Z',
      assignment_group: 'Platform Engineering',
    },
  });

export const reviewSchema = z
  .strictObject({
    outcome: z.enum(REVIEW_OUTCOMES),
    notes: text(10_000).min(1, { message: 'is required' }).meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] }),
  })
  .meta({ id: 'ChangeReview' });

export const patchChangeSchema = z
  .strictObject({
    type: z.enum(CHANGE_TYPES).optional(),
    ...editable,
    short_description: editable.short_description.optional(),
    state: z.enum(CHANGE_STATES).optional().meta({ description: 'Requests a transition along the state machine' }),
    actual_start: instant.optional(),
    actual_end: instant.optional(),
    review: reviewSchema.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'send at least one field to change' })
  .meta({ id: 'ChangePatch', example: { state: 'in_progress', actual_start: '2026-05-22T01:05:00Z' } });

export const submitCabSchema = z
  .strictObject({
    cab_meeting_date: instant.nullable().optional(),
    notes: text(4_000).nullable().optional(),
    cab_approvers: approvers.optional(),
    cab_quorum: z.number().int().min(1).max(50).nullable().optional(),
  })
  .meta({ id: 'ChangeSubmitCab', example: { cab_meeting_date: '2026-05-21T14:00:00Z', notes: 'Urgent: addresses P1 incident PRB0000123' } });

export const approveSchema = z.strictObject({ comment: text(4_000).nullable().optional() }).meta({ id: 'ChangeApprove' });

/** A rejection is only useful to the requester with its reason; a missing one is named, not answered with zod's type message. */
const REASON_REQUIRED = 'reason is required: say why the change is rejected';

export const rejectSchema = z
  .strictObject({
    reason: storableText({ error: (issue) => (issue.input == null ? REASON_REQUIRED : undefined) })
      .trim()
      .max(4_000)
      .min(1, { message: REASON_REQUIRED })
      .meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] }),
    comment: text(4_000).nullable().optional(),
  })
  .meta({ id: 'ChangeReject' });

export const cancelSchema = z.strictObject({ reason: text(4_000).nullable().optional() }).meta({ id: 'ChangeCancel' });

/** Fields the server owns; sending one is refused with code read_only rather than unknown_field. */
export const READ_ONLY_CHANGE_FIELDS = [
  'id',
  'number',
  'state',
  'risk_score',
  'risk_level',
  'risk_assessment',
  'created_at',
  'updated_at',
  'version',
  'approvals',
  'conflicts',
  'requested_by',
  'requested_by_id',
  'cab_approval_required',
  'actual_start',
  'actual_end',
  'closed_at',
  'review_overdue',
  'window_overrun',
  'outcome',
] as const;

// Each command's input is its request body as validated: declared once, here.
export type CreateChangeInput = z.infer<typeof createChangeSchema>;
export type PatchChangeInput = z.infer<typeof patchChangeSchema>;
export type SubmitCabInput = z.infer<typeof submitCabSchema>;
export type ApproveInput = z.infer<typeof approveSchema>;
export type RejectInput = z.infer<typeof rejectSchema>;
export type CancelInput = z.infer<typeof cancelSchema>;
export type ReviewInput = z.infer<typeof reviewSchema>;
/** Submitting takes no body. */
export type SubmitInput = Record<string, never>;

/** What a change can be asked to do: each request's command, and the tick its own timers send (commands.ts decides them). */
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

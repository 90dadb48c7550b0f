import { z } from '@hono/zod-openapi';
import { CHANGE_STATES, CHANGE_TYPES, REVIEW_OUTCOMES, RISK_LEVELS } from '../../../domain/changes/model';
import { storableText } from '../../../domain/text';

/** Response shapes, for the OpenAPI document (the workflow's Change record is what is served). */

const instant = z.string().openapi({ format: 'date-time' });

export const RiskFactorSchema = z.object({ factor: z.string(), weight: z.number(), score: z.number().int() }).openapi('RiskFactor');

export const RiskSchema = z
  .object({
    risk_score: z.number().int().min(0).max(100),
    risk_level: z.enum(RISK_LEVELS),
    factors: z.array(RiskFactorSchema),
    recommendation: z.string(),
    model_version: z.string(),
    assessed_at: instant,
  })
  .openapi('ChangeRisk', {
    example: {
      risk_score: 35,
      risk_level: 'medium',
      factors: [
        { factor: 'Database change', weight: 0.35, score: 70 },
        { factor: 'Maintenance window scheduled (2h)', weight: 0.15, score: 10 },
      ],
      recommendation: 'Proceed with CAB review. Ensure a DBA is on call during the maintenance window.',
      model_version: 'tollgate-risk-1.2',
      assessed_at: '2026-05-19T10:00:00.000Z',
    },
  });

const ApprovalSchema = z.object({
  approver: z.string(),
  approver_id: z.string(),
  decision: z.enum(['approved', 'rejected']),
  comment: z.string().nullable(),
  decided_at: instant,
  round: z.number().int(),
});

const ConflictSchema = z.object({
  id: z.string(),
  short_description: z.string(),
  state: z.enum(CHANGE_STATES),
  scheduled_start: instant,
  scheduled_end: instant,
  overlap_on: z.array(z.enum(['ci', 'assignment_group'])),
});

export const ChangeSchema = z
  .object({
    id: z.string().openapi({ example: 'CHG0000456' }),
    number: z.number().int(),
    type: z.enum(CHANGE_TYPES),
    state: z.enum(CHANGE_STATES),
    short_description: z.string(),
    description: z.string().nullable(),
    risk: z.enum(RISK_LEVELS).nullable(),
    risk_score: z.number().int(),
    risk_level: z.enum(RISK_LEVELS),
    risk_assessment: RiskSchema,
    implementation_plan: z.string().nullable(),
    backout_plan: z.string().nullable(),
    test_plan: z.string().nullable(),
    cab_approval_required: z.boolean(),
    cab_approvers: z.array(z.string()),
    cab_quorum: z.number().int().nullable(),
    cab_meeting_date: instant.nullable(),
    cab_notes: z.string().nullable(),
    cab_round: z.number().int(),
    approvals: z.array(ApprovalSchema),
    awaiting: z.array(z.string()).openapi({
      description:
        'Whose decision the change waits on: under CAB review, the `cab_approvers` who have not decided this round; empty otherwise (and when the change names no approvers, so that any CAB member may decide)',
      example: ['security@example.com'],
    }),
    rejection_reason: z.string().nullable(),
    scheduled_start: instant.nullable(),
    scheduled_end: instant.nullable(),
    actual_start: instant.nullable(),
    actual_end: instant.nullable(),
    window_opened_at: instant.nullable(),
    window_overrun: z.boolean(),
    assignment_group: z.string().nullable(),
    assigned_to: z.string().nullable(),
    ci_id: z.string().nullable(),
    conflicts: z.array(ConflictSchema),
    requested_by: z.string(),
    requested_by_id: z.string(),
    outcome: z.enum(['successful', 'failed']).nullable(),
    review_required: z.boolean(),
    review_due_at: instant.nullable(),
    review_overdue: z.boolean(),
    reviewed_at: instant.nullable(),
    reviewed_by: z.string().nullable(),
    review_outcome: z.enum(REVIEW_OUTCOMES).nullable(),
    review_notes: z.string().nullable(),
    submitted_at: instant.nullable(),
    closed_at: instant.nullable(),
    cancelled_at: instant.nullable(),
    created_at: instant,
    updated_at: instant,
    version: z.number().int(),
  })
  .openapi('Change');

export const RiskHistoryEntrySchema = z
  .object({
    change_version: z.number().int(),
    model_version: z.string(),
    risk_score: z.number().int(),
    risk_level: z.enum(RISK_LEVELS),
    factors: z.array(RiskFactorSchema),
    recommendation: z.string(),
    conflicts: z.array(ConflictSchema),
    assessed_at: instant,
  })
  .openapi('ChangeRiskAssessment');

export const AuditEventSchema = z
  .object({
    action: z.string(),
    actor: z.string(),
    before: z.record(z.string(), z.unknown()).nullable(),
    after: z.record(z.string(), z.unknown()).nullable(),
    request_id: z.string().nullable(),
    occurred_at: instant,
  })
  .openapi('AuditEvent');

export const ChangeIdParam = z.object({ id: storableText().openapi({ param: { name: 'id', in: 'path' }, example: 'CHG0000456' }) });

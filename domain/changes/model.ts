import type { Actor } from '../actor';
import type { EntityEvent } from '../draft';

/** The change request as the StackFlow Changes API shows it (snake_case on every dialect). */

export const CHANGE_TYPES = ['normal', 'standard', 'emergency'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const CHANGE_STATES = [
  'draft',
  'submitted',
  'cab_review',
  'scheduled',
  'in_progress',
  'completed',
  'closed',
  'cancelled',
  'failed',
  'rejected',
  'post_review',
] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const REVIEW_OUTCOMES = ['successful', 'successful_with_issues', 'unsuccessful'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

export interface Approval {
  approver: string;
  approver_id: string;
  decision: 'approved' | 'rejected';
  comment: string | null;
  decided_at: string;
  /** Which CAB round (a revision after rejection starts a new one). */
  round: number;
}

export interface RiskFactor {
  factor: string;
  weight: number;
  score: number;
}

export interface ChangeConflict {
  id: string;
  short_description: string;
  state: ChangeState;
  scheduled_start: string;
  scheduled_end: string;
  overlap_on: Array<'ci' | 'assignment_group'>;
}

export interface RiskAssessment {
  risk_score: number;
  risk_level: RiskLevel;
  factors: RiskFactor[];
  recommendation: string;
  model_version: string;
  assessed_at: string;
}

export interface Change {
  id: string;
  number: number;
  type: ChangeType;
  state: ChangeState;
  short_description: string;
  description: string | null;
  /** The requester's own estimate; never overwritten by scoring. */
  risk: RiskLevel | null;
  risk_score: number;
  risk_level: RiskLevel;
  risk_assessment: RiskAssessment;
  implementation_plan: string | null;
  backout_plan: string | null;
  test_plan: string | null;
  cab_approval_required: boolean;
  cab_approvers: string[];
  cab_quorum: number | null;
  cab_meeting_date: string | null;
  cab_notes: string | null;
  cab_round: number;
  approvals: Approval[];
  rejection_reason: string | null;
  scheduled_start: string | null;
  scheduled_end: string | null;
  actual_start: string | null;
  actual_end: string | null;
  window_opened_at: string | null;
  window_overrun: boolean;
  assignment_group: string | null;
  assigned_to: string | null;
  ci_id: string | null;
  conflicts: ChangeConflict[];
  requested_by: string;
  requested_by_id: string;
  /** How implementation ended; feeds the assignment group's failure rate. */
  outcome: 'successful' | 'failed' | null;
  review_required: boolean;
  review_due_at: string | null;
  review_overdue: boolean;
  reviewed_at: string | null;
  reviewed_by: string | null;
  review_outcome: ReviewOutcome | null;
  review_notes: string | null;
  submitted_at: string | null;
  closed_at: string | null;
  cancelled_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

/** Fields a change's risk depends on; editing any of them triggers a new assessment. */
export const RISK_INPUT_FIELDS = [
  'type',
  'short_description',
  'description',
  'implementation_plan',
  'backout_plan',
  'test_plan',
  'scheduled_start',
  'scheduled_end',
  'ci_id',
  'assignment_group',
] as const satisfies ReadonlyArray<keyof Change>;

export function changeNumberToId(n: number): string {
  return `CHG${String(n).padStart(7, '0')}`;
}

export const CHANGE_ID_PATTERN = /^CHG\d{7,}$/;

/** Deployment-wide settings a change's rules read; the workflow receives them at start. */
export interface ChangeSettings {
  /** How long an emergency change has for its post-implementation review. */
  reviewDeadlineMs: number;
  /** Approvals needed when a change names no approvers and sets no quorum. */
  defaultCabQuorum: number;
}

/** What `decide` answers: the next version of the change and its audit events. */
export interface ChangeDecision {
  next: Change;
  events: EntityEvent[];
  /** The change's risk inputs moved: assess again before persisting. */
  rescore: boolean;
}

/** What a command is judged with besides the change: the time, the settings and who asks. */
export interface DecideContext {
  now: string;
  settings: ChangeSettings;
  actor: Actor;
  /** Only for create: the allocated number. */
  number?: number;
}

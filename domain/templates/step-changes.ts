/** What the step reads of a change (the changes module's row; domain/templates names no other module). */
export interface ChangeSeen {
  id: string;
  state: string;
  type: string;
  rejection_reason: string | null;
}

/**
 * What a template's `change-request` step does with the change it opened, read
 * from the change as its row stands: move it on (a draft is submitted, a
 * submitted normal change goes to CAB), wait (for the CAB, or the workflow's
 * own move from submitted to scheduled), or end. A change that reached
 * `scheduled` (or went past it) has done what the step waits for; a rejected or
 * cancelled one fails the step.
 */
export type ChangeStepMove =
  | { kind: 'submit' }
  | { kind: 'submit_cab' }
  | { kind: 'wait'; waitingFor: string }
  | { kind: 'succeeded' }
  | { kind: 'failed'; code: 'CHANGE_REJECTED' | 'CHANGE_CANCELLED'; message: string };

const SCHEDULED_OR_LATER: readonly string[] = ['scheduled', 'in_progress', 'completed', 'failed', 'post_review', 'closed'];

export function changeStepMove(change: ChangeSeen): ChangeStepMove {
  if (SCHEDULED_OR_LATER.includes(change.state)) return { kind: 'succeeded' };
  switch (change.state) {
    case 'draft':
      return { kind: 'submit' };
    case 'submitted':
      return change.type === 'normal' ? { kind: 'submit_cab' } : { kind: 'wait', waitingFor: 'scheduling' };
    case 'cab_review':
      return { kind: 'wait', waitingFor: 'the CAB' };
    case 'rejected':
      return { kind: 'failed', code: 'CHANGE_REJECTED', message: `Change ${change.id} was rejected by the CAB${change.rejection_reason ? `: ${change.rejection_reason}` : ''}` };
    case 'cancelled':
      return { kind: 'failed', code: 'CHANGE_CANCELLED', message: `Change ${change.id} was cancelled` };
    default:
      return { kind: 'wait', waitingFor: `its state ${change.state}` };
  }
}

/** The step's inputs (camelCase, as every step's are) as the body POST /changes takes; the change module's schema then judges it. */
export interface ChangeStepInputs {
  title: string;
  type: 'standard' | 'normal' | 'emergency';
  description?: string;
  assignmentGroup?: string;
  implementationPlan?: string;
  backoutPlan?: string;
  testPlan?: string;
  scheduledStart?: string;
  scheduledEnd?: string;
  ciId?: string;
  cabApprovers?: string[];
  cabQuorum?: number;
}

export function changeBodyOf(inputs: ChangeStepInputs, fallbackDescription: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: inputs.type,
    short_description: inputs.title,
    description: inputs.description ?? fallbackDescription,
    assignment_group: inputs.assignmentGroup,
    implementation_plan: inputs.implementationPlan,
    backout_plan: inputs.backoutPlan,
    test_plan: inputs.testPlan,
    scheduled_start: inputs.scheduledStart,
    scheduled_end: inputs.scheduledEnd,
    ci_id: inputs.ciId,
    cab_approvers: inputs.cabApprovers,
    cab_quorum: inputs.cabQuorum,
  };
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key];
  return body;
}

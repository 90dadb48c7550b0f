import { AURORA_EXAMPLE } from '../fixtures/spec-examples';
import { thrown } from '../support/thrown';
import { awaitsDecisionFrom, cabProgress } from '../../domain/changes/cab';
import { nextDeadline, pendingDeadlines, windowProblem } from '../../domain/changes/deadlines';
import type { Actor } from '../../domain/actor';
import { decide } from '../../domain/changes/commands';
import { UNASSESSED } from '../../domain/changes/new-change';
import type { ChangeCommand, CreateChangeInput } from '../../domain/changes/requests';
import { withAssessment } from '../../domain/changes/risk';
import type { Change, ChangeDecision, ChangeSettings, ChangeState, ChangeType } from '../../domain/changes/model';
import { allowedNextStates, canTransition } from '../../domain/changes/state-machine';
import { DomainError, type FailureKind } from '../../domain/errors';
import { permissionsFor } from '../../domain/permissions';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// The spec's window, 2026-05-25 02:00–04:00Z; "now" is inside it unless a test says otherwise.
const WINDOW_START = '2026-05-25T02:00:00.000Z';
const WINDOW_END = '2026-05-25T04:00:00.000Z';
const NOW = '2026-05-25T02:30:00.000Z';
const BEFORE_WINDOW = '2026-05-24T10:00:00.000Z';
const after = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

const settings: ChangeSettings = { reviewDeadlineMs: DAY, defaultCabQuorum: 1 };

// Alice requests changes and carries out the work (change:implement); she may not review her own.
const alice: Actor = { userId: 'u-alice', email: 'Alice@Example.com', permissions: permissionsFor(['engineer']) };
const arch: Actor = { userId: 'u-arch', email: 'arch-review@example.com', permissions: permissionsFor(['viewer']) };
const security: Actor = { userId: 'u-sec', email: 'security@example.com', permissions: permissionsFor(['cab-member']) };
const cab1: Actor = { userId: 'u-cab1', email: 'cab1@example.com', permissions: permissionsFor(['cab-member']) };
const cab2: Actor = { userId: 'u-cab2', email: 'cab2@example.com', permissions: permissionsFor(['approver']) };
const bob: Actor = { userId: 'u-bob', email: 'bob@example.com', permissions: permissionsFor(['requester']) };
const carol: Actor = { userId: 'u-carol', email: 'carol@example.com', permissions: permissionsFor(['change-manager']) };
/** Holds every change permission, so a test of the state machine is not answered by a 403 first. */
const lead: Actor = { userId: 'u-lead', email: 'lead@example.com', permissions: permissionsFor(['release-manager']) };

const auroraInput: CreateChangeInput = {
  ...AURORA_EXAMPLE,
  scheduled_start: WINDOW_START,
  scheduled_end: WINDOW_END,
  cab_approvers: ['arch-review@example.com', 'security@example.com'],
};
const standardInput: CreateChangeInput = {
  type: 'standard',
  short_description: 'Rotate log files on the build agents',
  implementation_plan: '1. Run the logrotate job\n2. Confirm disk usage dropped',
  backout_plan: 'Restore the archived log files from the backup bucket',
  scheduled_start: WINDOW_START,
  scheduled_end: WINDOW_END,
  assignment_group: 'Build Tooling',
};
const emergencyInput: CreateChangeInput = {
  type: 'emergency',
  short_description: 'Hotfix the payments ledger index',
  assignment_group: 'Payments',
};

function decideAs(current: Change | undefined, command: ChangeCommand, actor: Actor = alice, now: string = NOW, s: ChangeSettings = settings): ChangeDecision {
  return decide(current, command, { now, settings: s, actor, number: current ? undefined : 456 });
}
const step = (current: Change, command: ChangeCommand, actor: Actor = alice, now: string = NOW, s?: ChangeSettings): Change => decideAs(current, command, actor, now, s).next;

const failure = (fn: () => unknown) => thrown(DomainError, fn);
function expectFailure(fn: () => unknown, kind: FailureKind, code: string, details?: Record<string, unknown>): DomainError {
  const err = failure(fn);
  expect({ kind: err.kind, code: err.code }).toEqual({ kind, code });
  if (details) expect(err.details).toMatchObject(details);
  return err;
}

const actions = (d: ChangeDecision) => d.events.map((e) => e.action);

// Walks through the real commands, so every fixture is a state the rules can actually produce.
const created = (input: CreateChangeInput = auroraInput, actor: Actor = alice) => decideAs(undefined, { kind: 'create', input }, actor).next;
const submitted = (input: CreateChangeInput = auroraInput) => step(created(input), { kind: 'submit' });
const inCab = (input: CreateChangeInput = auroraInput) => step(submitted(input), { kind: 'submit_cab', input: {} });
const approvedBy = (change: Change, ...actors: Actor[]) => actors.reduce((c, a) => step(c, { kind: 'approve', input: {} }, a), change);
const scheduled = (input: CreateChangeInput = auroraInput): Change => (input.type === 'normal' ? approvedBy(inCab(input), arch, security) : submitted(input));
const patched = (change: Change, input: Extract<ChangeCommand, { kind: 'patch' }>['input'], actor: Actor = alice, now: string = NOW) => step(change, { kind: 'patch', input }, actor, now);
const inProgress = (input: CreateChangeInput = auroraInput) => patched(scheduled(input), { state: 'in_progress' });
const completed = (input: CreateChangeInput = auroraInput) => patched(inProgress(input), { state: 'completed' });
const failed = (input: CreateChangeInput = auroraInput) => patched(inProgress(input), { state: 'failed' });
const rejected = () => step(inCab(), { kind: 'reject', input: { reason: 'Snapshot restore time not measured' } }, security);

describe('create', () => {
  test('a new normal change is a version-1 draft that needs CAB approval', () => {
    const d = decideAs(undefined, { kind: 'create', input: auroraInput });
    expect(d.next).toMatchObject({
      id: 'CHG0000456',
      number: 456,
      type: 'normal',
      state: 'draft',
      version: 1,
      cab_approval_required: true,
      review_required: false,
      cab_round: 0,
      approvals: [],
      requested_by: 'Alice@Example.com',
      requested_by_id: 'u-alice',
      created_at: NOW,
      updated_at: NOW,
      scheduled_start: WINDOW_START,
      scheduled_end: WINDOW_END,
      risk_assessment: UNASSESSED,
    });
    expect(d.rescore).toBe(true);
    expect(d.events).toEqual([{ action: 'change.create', before: null, after: d.next }]);
  });

  test.each([
    ['normal', true, false],
    ['standard', false, false],
    ['emergency', false, true],
  ] as const)('%s: cab_approval_required=%s, review_required=%s', (type, cab, review) => {
    expect(created({ ...auroraInput, type })).toMatchObject({ cab_approval_required: cab, review_required: review });
  });

  test('approver emails are trimmed, lower-cased and deduplicated', () => {
    const c = created({ ...auroraInput, cab_approvers: [' Arch-Review@Example.com', 'arch-review@example.com', 'SECURITY@example.com', ''] });
    expect(c.cab_approvers).toEqual(['arch-review@example.com', 'security@example.com']);
  });

  test('omitted optional fields are null', () => {
    const c = created({ type: 'standard', short_description: 'x' });
    expect(c).toMatchObject({ description: null, implementation_plan: null, backout_plan: null, test_plan: null, risk: null, scheduled_start: null, scheduled_end: null, ci_id: null, cab_approvers: [], cab_quorum: null });
  });

  test('the requester is the user id when the token has no email', () => {
    expect(created(auroraInput, { userId: 'svc-bot', permissions: ['change:create'] })).toMatchObject({ requested_by: 'svc-bot', requested_by_id: 'svc-bot' });
  });

  test('needs an allocated number', () => {
    expectFailure(() => decide(undefined, { kind: 'create', input: auroraInput }, { now: NOW, settings, actor: alice }), 'invalid_input', 'NUMBER_REQUIRED');
  });

  test('a half-set or inverted window is refused', () => {
    expectFailure(() => created({ ...auroraInput, scheduled_end: null }), 'invalid_input', 'INCOMPLETE_WINDOW');
    expectFailure(() => created({ ...auroraInput, scheduled_start: WINDOW_END, scheduled_end: WINDOW_START }), 'invalid_input', 'INVALID_WINDOW');
    expectFailure(() => created({ ...auroraInput, scheduled_end: WINDOW_START }), 'invalid_input', 'INVALID_WINDOW');
  });

  test('create on an existing change, or any other command on a missing one, is refused', () => {
    expectFailure(() => decideAs(created(), { kind: 'create', input: auroraInput }), 'invalid_state', 'ALREADY_EXISTS');
    expectFailure(() => decideAs(undefined, { kind: 'submit' }), 'not_found', 'NOT_FOUND');
  });
});

describe('submit', () => {
  test('a normal change without window or plans is incomplete, listing what is missing', () => {
    const bare = created({ type: 'normal', short_description: 'Upgrade Aurora', backout_plan: 'TBD' });
    expectFailure(() => step(bare, { kind: 'submit' }), 'rule', 'SUBMISSION_INCOMPLETE', {
      missing: ['scheduled_start', 'scheduled_end', 'implementation_plan', 'backout_plan'],
    });
  });

  test('a normal change with a window but no backout plan names just that', () => {
    const err = expectFailure(() => step(created({ ...auroraInput, backout_plan: 'n/a' }), { kind: 'submit' }), 'rule', 'SUBMISSION_INCOMPLETE');
    expect(err.details?.missing).toEqual(['backout_plan']);
  });

  test('a standard change needs a window but not plans', () => {
    const err = expectFailure(() => step(created({ type: 'standard', short_description: 'Rotate logs' }), { kind: 'submit' }), 'rule', 'SUBMISSION_INCOMPLETE');
    expect(err.details?.missing).toEqual(['scheduled_start', 'scheduled_end']);
  });

  test('a window that has already ended is refused', () => {
    const change = created();
    expectFailure(() => step(change, { kind: 'submit' }, alice, WINDOW_END), 'rule', 'MAINTENANCE_WINDOW_PASSED', { scheduled_end: WINDOW_END });
    expectFailure(() => step(change, { kind: 'submit' }, alice, after(WINDOW_END, DAY)), 'rule', 'MAINTENANCE_WINDOW_PASSED');
  });

  test('a normal change goes to submitted only', () => {
    const d = decideAs(created(), { kind: 'submit' });
    expect(d.next).toMatchObject({ state: 'submitted', submitted_at: NOW, version: 2, updated_at: NOW });
    expect(actions(d)).toEqual(['change.submit']);
    expect(d.events[0]).toMatchObject({ before: { state: 'draft', submitted_at: null }, after: { state: 'submitted', submitted_at: NOW } });
  });

  test.each([
    ['standard', standardInput],
    ['emergency', emergencyInput],
  ] as const)('a %s change skips CAB: submitted then scheduled, two events, one version', (_type, input) => {
    const d = decideAs(created(input), { kind: 'submit' });
    expect(d.next).toMatchObject({ state: 'scheduled', version: 2, submitted_at: NOW });
    expect(actions(d)).toEqual(['change.submit', 'change.schedule']);
    expect(d.events[0].after).toMatchObject({ state: 'submitted' });
    expect(d.events[1]).toMatchObject({ before: { state: 'submitted' }, after: { state: 'scheduled' } });
  });

  test('an emergency change needs neither window nor plans', () => {
    expect(created(emergencyInput).scheduled_start).toBeNull();
    expect(step(created(emergencyInput), { kind: 'submit' }).state).toBe('scheduled');
  });

  test('only a draft can be submitted', () => {
    expectFailure(() => step(submitted(), { kind: 'submit' }), 'invalid_state', 'INVALID_STATE_TRANSITION', {
      current_state: 'submitted',
      allowed_next_states: ['cab_review'],
    });
  });
});

describe('submit_cab', () => {
  test('moves a submitted normal change into CAB review, round 1, with meeting date, notes and approvers', () => {
    const d = decideAs(submitted(), {
      kind: 'submit_cab',
      input: { cab_meeting_date: '2026-05-21T14:00:00.000Z', notes: 'Urgent: addresses P1 incident PRB0000123', cab_approvers: ['Ops@Example.com'], cab_quorum: 1 },
    });
    expect(d.next).toMatchObject({
      state: 'cab_review',
      cab_round: 1,
      cab_meeting_date: '2026-05-21T14:00:00.000Z',
      cab_notes: 'Urgent: addresses P1 incident PRB0000123',
      cab_approvers: ['ops@example.com'],
      cab_quorum: 1,
    });
    expect(actions(d)).toEqual(['change.submit_cab']);
    expect(d.rescore).toBe(false);
  });

  test('without approvers in the body, the change keeps its own list', () => {
    expect(inCab().cab_approvers).toEqual(['arch-review@example.com', 'security@example.com']);
  });

  test.each([
    ['standard', standardInput],
    ['emergency', emergencyInput],
  ] as const)('is not applicable to a %s change', (type, input) => {
    expectFailure(() => step(scheduled(input), { kind: 'submit_cab', input: {} }), 'rule', 'CAB_NOT_APPLICABLE', { type });
    expectFailure(() => step(created(input), { kind: 'submit_cab', input: {} }), 'rule', 'CAB_NOT_APPLICABLE');
  });

  test.each([
    ['draft', () => created()],
    ['cab_review', () => inCab()],
    ['scheduled', () => scheduled()],
  ] as const)('is refused from %s', (state, make) => {
    expectFailure(() => step(make(), { kind: 'submit_cab', input: {} }), 'invalid_state', 'INVALID_STATE_TRANSITION', {
      current_state: state,
      allowed_next_states: allowedNextStates({ type: 'normal', state }),
      requested_state: 'cab_review',
    });
  });
});

describe('approve', () => {
  const approve = (change: Change, actor: Actor, comment: string | null = null) => decideAs(change, { kind: 'approve', input: { comment } }, actor);

  test('the requester cannot approve their own change (by user id)', () => {
    const sameUser: Actor = { userId: 'u-alice', email: 'alice.other@example.com', permissions: ['change:approve'] };
    expectFailure(() => approve(inCab(), sameUser), 'forbidden', 'SOD_VIOLATION', { requested_by: 'Alice@Example.com' });
  });

  test('the requester cannot approve their own change (by email, case-insensitively)', () => {
    const sameEmail: Actor = { userId: 'someone-else', email: 'ALICE@example.com', permissions: ['admin'] };
    expectFailure(() => approve(inCab(), sameEmail), 'forbidden', 'SOD_VIOLATION');
  });

  test('even a requester who listed themselves as an approver cannot approve', () => {
    const change = inCab({ ...auroraInput, cab_approvers: ['alice@example.com', 'security@example.com'] });
    expectFailure(() => approve(change, { ...alice, permissions: ['change:approve'] }), 'forbidden', 'SOD_VIOLATION');
  });

  test('someone neither listed nor holding change:approve is not an approver', () => {
    expectFailure(() => approve(inCab(), bob), 'forbidden', 'NOT_AN_APPROVER', { cab_approvers: ['arch-review@example.com', 'security@example.com'] });
  });

  test('a listed approver without change:approve may approve; the change waits for the rest of the list', () => {
    expect(arch.permissions).not.toContain('change:approve');
    const d = approve(inCab(), arch, 'LGTM');
    expect(d.next.state).toBe('cab_review');
    expect(d.next.approvals).toEqual([{ approver: 'arch-review@example.com', approver_id: 'u-arch', decision: 'approved', comment: 'LGTM', decided_at: NOW, round: 1 }]);
    expect(actions(d)).toEqual(['change.approve']);
    expect(cabProgress(d.next, settings)).toEqual({ approved: 1, required: 2, complete: false, pending_approvers: ['security@example.com'] });
  });

  test('a listed approver is recognised whatever the case of their token email', () => {
    const shouting: Actor = { ...security, email: 'SECURITY@Example.COM' };
    const next = approve(approve(inCab(), arch).next, shouting).next;
    expect(next.state).toBe('scheduled');
  });

  test('a CAB member not on the list may record an approval, but it does not stand in for a listed approver', () => {
    const next = approve(inCab(), cab1).next;
    expect(next.state).toBe('cab_review');
    expect(cabProgress(next, settings)).toMatchObject({ approved: 0, complete: false });
  });

  test('whose decision a change under review awaits: named approvers until they decide, CAB members where none are named or a quorum counts', () => {
    const review = inCab();
    expect([arch, security, cab1, alice].map((a) => awaitsDecisionFrom(review, a))).toEqual([true, true, false, false]);
    expect(awaitsDecisionFrom(approve(review, arch).next, arch)).toBe(false);
    const unnamed = inCab({ ...auroraInput, cab_approvers: [] });
    expect([cab1, cab2, arch, alice].map((a) => awaitsDecisionFrom(unnamed, a))).toEqual([true, true, false, false]);
    expect(awaitsDecisionFrom(inCab({ ...auroraInput, cab_quorum: 1 }), cab1)).toBe(true);
    expect(awaitsDecisionFrom(submitted(), arch)).toBe(false);
  });

  test('approving twice in the same round is refused', () => {
    const once = approve(inCab(), arch).next;
    expectFailure(() => approve(once, arch), 'invalid_state', 'ALREADY_DECIDED', { current_state: 'cab_review', decision: 'approved' });
  });

  test('when every listed approver has approved, the change is scheduled', () => {
    const once = approve(inCab(), arch).next;
    const d = approve(once, security);
    expect(d.next).toMatchObject({ state: 'scheduled', version: once.version + 1 });
    expect(actions(d)).toEqual(['change.approve', 'change.schedule']);
    expect(cabProgress(d.next, settings)).toMatchObject({ complete: true, pending_approvers: [] });
  });

  test('an explicit cab_quorum overrides "every listed approver"', () => {
    const change = inCab({ ...auroraInput, cab_quorum: 1 });
    expect(approve(change, security).next.state).toBe('scheduled');
  });

  test('a quorum set at CAB submission counts approvals from any approver', () => {
    const change = step(submitted({ ...auroraInput, cab_approvers: [] }), { kind: 'submit_cab', input: { cab_quorum: 2 } });
    const one = approve(change, cab1).next;
    expect(one.state).toBe('cab_review');
    expect(cabProgress(one, settings)).toMatchObject({ approved: 1, required: 2, complete: false });
    expect(approve(one, cab2).next.state).toBe('scheduled');
  });

  test('with no approver list and no quorum, the default quorum from settings applies', () => {
    const change = inCab({ ...auroraInput, cab_approvers: [] });
    const strict: ChangeSettings = { ...settings, defaultCabQuorum: 2 };
    const one = decideAs(change, { kind: 'approve', input: {} }, cab1, NOW, strict).next;
    expect(one.state).toBe('cab_review');
    expect(cabProgress(one, strict)).toEqual({ approved: 1, required: 2, complete: false, pending_approvers: [] });
    expect(decideAs(one, { kind: 'approve', input: {} }, cab2, NOW, strict).next.state).toBe('scheduled');
    // With the default of one, a single CAB member suffices.
    expect(approve(change, cab1).next.state).toBe('scheduled');
  });

  test('only a change under CAB review can be approved', () => {
    expectFailure(() => approve(submitted(), security), 'invalid_state', 'NOT_UNDER_REVIEW', { current_state: 'submitted', allowed_next_states: ['cab_review'] });
    expectFailure(() => approve(scheduled(), security), 'invalid_state', 'NOT_UNDER_REVIEW', { current_state: 'scheduled', allowed_next_states: ['in_progress'] });
  });

  test('approvals from an earlier CAB round neither count nor block the next round', () => {
    const round1 = approvedBy(inCab(), arch);
    const rejectedOnce = step(round1, { kind: 'reject', input: { reason: 'Needs a measured restore time' } }, security);
    const round2 = step(step(patched(rejectedOnce, { state: 'draft' }), { kind: 'submit' }), { kind: 'submit_cab', input: {} });
    expect(round2).toMatchObject({ state: 'cab_review', cab_round: 2, rejection_reason: null });
    expect(cabProgress(round2, settings)).toMatchObject({ approved: 0, complete: false });
    const archAgain = approve(round2, arch).next;
    expect(archAgain.state).toBe('cab_review');
    expect(approve(archAgain, security).next.state).toBe('scheduled');
  });
});

describe('reject', () => {
  test('moves a change under review to rejected, with the reason', () => {
    const d = decideAs(inCab(), { kind: 'reject', input: { reason: 'Snapshot restore time not measured' } }, security);
    expect(d.next).toMatchObject({ state: 'rejected', rejection_reason: 'Snapshot restore time not measured' });
    expect(d.next.approvals).toEqual([expect.objectContaining({ approver: 'security@example.com', decision: 'rejected', comment: 'Snapshot restore time not measured', round: 1 })]);
    expect(actions(d)).toEqual(['change.reject']);
  });

  test('a comment is kept separately from the reason', () => {
    const next = step(inCab(), { kind: 'reject', input: { reason: 'Too risky', comment: 'Try next week' } }, security);
    expect(next.approvals[0].comment).toBe('Try next week');
    expect(next.rejection_reason).toBe('Too risky');
  });

  test('requires a change under review', () => {
    expectFailure(() => step(submitted(), { kind: 'reject', input: { reason: 'x' } }, security), 'invalid_state', 'NOT_UNDER_REVIEW', { current_state: 'submitted' });
    expectFailure(() => step(created(), { kind: 'reject', input: { reason: 'x' } }, security), 'invalid_state', 'NOT_UNDER_REVIEW', { current_state: 'draft' });
  });

  test('separation of duties applies to rejection too', () => {
    expectFailure(() => step(inCab(), { kind: 'reject', input: { reason: 'x' } }, { ...alice, permissions: ['change:approve'] }), 'forbidden', 'SOD_VIOLATION');
  });

  test('PATCH state=rejected is not a way around the reject command', () => {
    expectFailure(() => patched(inCab(), { state: 'rejected' }, lead), 'invalid_state', 'USE_REJECT', { current_state: 'cab_review', allowed_next_states: ['scheduled', 'rejected'] });
  });
});

describe('revision after rejection', () => {
  test('state=draft plus plan edits in one patch revises the change', () => {
    const before = rejected();
    const d = decideAs(before, { kind: 'patch', input: { state: 'draft', backout_plan: '1. Restore from snapshot (measured: 12 minutes)\n2. Repoint the endpoint' } });
    expect(d.next).toMatchObject({ state: 'draft', backout_plan: expect.stringContaining('measured'), version: before.version + 1 });
    expect(actions(d)).toEqual(['change.revise', 'change.update']);
    expect(d.rescore).toBe(true);
  });

  test('plan fields cannot be edited in rejected without asking for draft', () => {
    expectFailure(() => patched(rejected(), { backout_plan: 'something better' }), 'invalid_state', 'FIELD_NOT_EDITABLE', {
      current_state: 'rejected',
      fields: ['backout_plan'],
      allowed_next_states: ['draft'],
    });
  });

  test('a revised change can be resubmitted and starts a new CAB round', () => {
    const revised = patched(rejected(), { state: 'draft', backout_plan: '1. Restore\n2. Repoint the endpoint' });
    const again = step(step(revised, { kind: 'submit' }), { kind: 'submit_cab', input: {} });
    expect(again).toMatchObject({ state: 'cab_review', cab_round: 2, rejection_reason: null });
  });
});

describe('field edits', () => {
  test.each([
    ['submitted', () => submitted()],
    ['cab_review', () => inCab()],
    ['scheduled', () => scheduled()],
    ['in_progress', () => inProgress()],
    ['completed', () => completed()],
  ] as const)('plan fields are locked in %s', (state, make) => {
    const change = make();
    expectFailure(() => patched(change, { implementation_plan: 'new plan', short_description: 'renamed' }), 'invalid_state', 'FIELD_NOT_EDITABLE', {
      current_state: state,
      fields: ['implementation_plan', 'short_description'],
      allowed_next_states: allowedNextStates(change),
    });
  });

  test('a closed change cannot be edited at all', () => {
    const closed = patched(completed(), { state: 'closed' });
    expectFailure(() => patched(closed, { assigned_to: 'carol@example.com' }), 'invalid_state', 'CHANGE_CLOSED', { current_state: 'closed', allowed_next_states: [] });
  });

  test('the window can be moved while scheduled (a reschedule), but only its end while in progress', () => {
    const d = decideAs(scheduled(), { kind: 'patch', input: { scheduled_start: after(WINDOW_START, HOUR), scheduled_end: after(WINDOW_END, HOUR) } });
    expect(actions(d)).toEqual(['change.reschedule']);
    expect(d.rescore).toBe(true);
    const running = inProgress();
    expect(patched(running, { scheduled_end: after(WINDOW_END, HOUR) }).scheduled_end).toBe(after(WINDOW_END, HOUR));
    expectFailure(() => patched(running, { scheduled_start: after(WINDOW_START, -HOUR) }), 'invalid_state', 'FIELD_NOT_EDITABLE', { fields: ['scheduled_start'] });
  });

  test('a rescheduled window must stay whole and ordered: a rule against the change (422) for one end, a bad request (400) for both', () => {
    expectFailure(() => patched(scheduled(), { scheduled_end: null }), 'rule', 'INCOMPLETE_WINDOW');
    expectFailure(() => patched(scheduled(), { scheduled_end: WINDOW_START }), 'rule', 'INVALID_WINDOW');
    expectFailure(() => patched(scheduled(), { scheduled_start: WINDOW_END, scheduled_end: WINDOW_START }), 'invalid_input', 'INVALID_WINDOW');
    expectFailure(() => patched(scheduled(), { scheduled_start: WINDOW_START, scheduled_end: null }), 'invalid_input', 'INCOMPLETE_WINDOW');
  });

  test('changing the type in draft re-derives the CAB and review requirements', () => {
    const next = patched(created(), { type: 'emergency' });
    expect(next).toMatchObject({ type: 'emergency', cab_approval_required: false, review_required: true });
  });

  test('assignment can change in any open state', () => {
    expect(patched(inProgress(), { assigned_to: 'carol@example.com' }).assigned_to).toBe('carol@example.com');
  });

  test('actual_start/actual_end only travel with the matching state', () => {
    expectFailure(() => patched(scheduled(), { actual_start: NOW }), 'invalid_input', 'ACTUAL_START_WITHOUT_START');
    expectFailure(() => patched(inProgress(), { actual_end: NOW }), 'invalid_input', 'ACTUAL_END_WITHOUT_FINISH');
  });
});

describe('start', () => {
  test('inside the window, a scheduled change starts; actual_start defaults to now', () => {
    const d = decideAs(scheduled(), { kind: 'patch', input: { state: 'in_progress' } });
    expect(d.next).toMatchObject({ state: 'in_progress', actual_start: NOW });
    expect(actions(d)).toEqual(['change.start']);
    expect(patched(scheduled(), { state: 'in_progress', actual_start: '2026-05-25T02:05:00.000Z' }).actual_start).toBe('2026-05-25T02:05:00.000Z');
  });

  test.each([
    ['before the window', BEFORE_WINDOW],
    ['exactly at its end', WINDOW_END],
    ['after it', after(WINDOW_END, MIN)],
  ])('%s it is refused for a normal change', (_when, now) => {
    expectFailure(() => patched(scheduled(), { state: 'in_progress' }, alice, now), 'rule', 'OUTSIDE_MAINTENANCE_WINDOW', {
      scheduled_start: WINDOW_START,
      scheduled_end: WINDOW_END,
      now,
    });
  });

  test('a standard change is held to its window too', () => {
    expectFailure(() => patched(scheduled(standardInput), { state: 'in_progress' }, alice, BEFORE_WINDOW), 'rule', 'OUTSIDE_MAINTENANCE_WINDOW');
  });

  test('at the first instant of the window it is allowed', () => {
    expect(patched(scheduled(), { state: 'in_progress' }, alice, WINDOW_START).state).toBe('in_progress');
  });

  test('an emergency change may start at any time, with or without a window', () => {
    expect(patched(scheduled(emergencyInput), { state: 'in_progress' }, alice, BEFORE_WINDOW).state).toBe('in_progress');
    const withWindow = scheduled({ ...emergencyInput, scheduled_start: WINDOW_START, scheduled_end: WINDOW_END });
    expect(patched(withWindow, { state: 'in_progress' }, alice, BEFORE_WINDOW).state).toBe('in_progress');
  });

  test('with the window removed after scheduling, work cannot start', () => {
    const noWindow = patched(scheduled(standardInput), { scheduled_start: null, scheduled_end: null });
    expect(noWindow).toMatchObject({ state: 'scheduled', scheduled_start: null, scheduled_end: null });
    expectFailure(() => patched(noWindow, { state: 'in_progress' }), 'rule', 'MAINTENANCE_WINDOW_REQUIRED');
    expect(windowProblem(noWindow, NOW)?.code).toBe('MAINTENANCE_WINDOW_REQUIRED');
    expect(windowProblem(scheduled(), NOW)).toBeUndefined();
  });

  test('only a scheduled change can start', () => {
    expectFailure(() => patched(inCab(), { state: 'in_progress' }), 'invalid_state', 'INVALID_STATE_TRANSITION', { current_state: 'cab_review', requested_state: 'in_progress' });
  });
});

describe('complete, fail, close and review', () => {
  test('completing records the outcome and end time; a normal change owes no review', () => {
    const d = decideAs(inProgress(), { kind: 'patch', input: { state: 'completed' } });
    expect(d.next).toMatchObject({ state: 'completed', outcome: 'successful', actual_end: NOW, review_due_at: null });
    expect(actions(d)).toEqual(['change.complete']);
    expect(patched(inProgress(), { state: 'completed', actual_end: '2026-05-25T03:00:00.000Z' }).actual_end).toBe('2026-05-25T03:00:00.000Z');
  });

  test('failing records outcome failed', () => {
    const d = decideAs(inProgress(), { kind: 'patch', input: { state: 'failed' } });
    expect(d.next).toMatchObject({ state: 'failed', outcome: 'failed', actual_end: NOW });
    expect(actions(d)).toEqual(['change.fail']);
  });

  test.each(['completed', 'failed'] as const)('an emergency change %s owes a review due reviewDeadlineMs later', (state) => {
    const s: ChangeSettings = { ...settings, reviewDeadlineMs: 3_000 };
    const next = decideAs(inProgress(emergencyInput), { kind: 'patch', input: { state } }, alice, NOW, s).next;
    expect(next).toMatchObject({ state, review_required: true, review_due_at: '2026-05-25T02:30:03.000Z' });
    expect(patched(inProgress(emergencyInput), { state }).review_due_at).toBe(after(NOW, DAY));
  });

  test('a completed normal change closes', () => {
    const d = decideAs(completed(), { kind: 'patch', input: { state: 'closed' } });
    expect(d.next).toMatchObject({ state: 'closed', closed_at: NOW });
    expect(actions(d)).toEqual(['change.close']);
  });

  test('a completed emergency change cannot close before its review', () => {
    const done = completed(emergencyInput);
    expectFailure(() => patched(done, { state: 'closed' }), 'rule', 'REVIEW_REQUIRED', { review_due_at: after(NOW, DAY) });
  });

  test('reviewing a completed emergency change closes it', () => {
    const d = decideAs(completed(emergencyInput), { kind: 'review', input: { outcome: 'successful', notes: 'Index in place; no errors' } }, carol);
    expect(d.next).toMatchObject({
      state: 'closed',
      closed_at: NOW,
      reviewed_at: NOW,
      reviewed_by: 'carol@example.com',
      review_outcome: 'successful',
      review_notes: 'Index in place; no errors',
    });
    expect(actions(d)).toEqual(['change.review', 'change.close']);
  });

  test('reviewing a failed change passes through post_review to closed', () => {
    const d = decideAs(failed(emergencyInput), { kind: 'review', input: { outcome: 'unsuccessful', notes: 'Rolled back' } }, carol);
    expect(d.next).toMatchObject({ state: 'closed', review_outcome: 'unsuccessful' });
    expect(actions(d)).toEqual(['change.review', 'change.post_review', 'change.close']);
  });

  test('a change in post_review needs its review to close, and the review closes it', () => {
    const inReview = patched(failed(), { state: 'post_review' });
    expect(inReview.state).toBe('post_review');
    expectFailure(() => patched(inReview, { state: 'closed' }), 'rule', 'REVIEW_REQUIRED');
    const d = decideAs(inReview, { kind: 'patch', input: { review: { outcome: 'successful_with_issues', notes: 'Root cause found' } } }, carol);
    expect(d.next).toMatchObject({ state: 'closed', review_outcome: 'successful_with_issues' });
    expect(actions(d)).toEqual(['change.review', 'change.close']);
  });

  test('a failed change cannot skip post_review', () => {
    expectFailure(() => patched(failed(), { state: 'closed' }), 'invalid_state', 'INVALID_STATE_TRANSITION', { current_state: 'failed', allowed_next_states: ['post_review'] });
  });

  test('a review is only recorded after the work ends', () => {
    expectFailure(() => step(scheduled(emergencyInput), { kind: 'review', input: { outcome: 'successful', notes: 'x' } }, carol), 'invalid_state', 'NOT_REVIEWABLE', {
      current_state: 'scheduled',
      allowed_next_states: ['in_progress'],
    });
  });

  test('a review in a PATCH must come alone', () => {
    expectFailure(() => patched(completed(emergencyInput), { review: { outcome: 'successful', notes: 'x' }, assigned_to: 'x' }, carol), 'invalid_input', 'REVIEW_WITH_OTHER_FIELDS');
    expectFailure(() => patched(completed(emergencyInput), { review: { outcome: 'successful', notes: 'x' }, state: 'closed' }, carol), 'invalid_input', 'REVIEW_WITH_OTHER_FIELDS');
  });
});

describe('deadlines and tick', () => {
  const tick = (change: Change, now: string) => decideAs(change, { kind: 'tick' }, { userId: 'system', permissions: [] }, now);

  test('a scheduled change waits for its window to open', () => {
    const change = step(created(), { kind: 'submit' }, alice, BEFORE_WINDOW);
    const waiting = approvedBy(step(change, { kind: 'submit_cab', input: {} }, alice, BEFORE_WINDOW), arch, security);
    expect(pendingDeadlines(waiting)).toEqual([{ kind: 'window_open', at: Date.parse(WINDOW_START) }]);
    expect(nextDeadline(waiting)).toEqual({ kind: 'window_open', at: Date.parse(WINDOW_START) });

    const early = tick(waiting, after(WINDOW_START, -1));
    expect(early.events).toEqual([]);
    expect(early.next).toBe(waiting);

    const open = tick(waiting, WINDOW_START);
    expect(open.next).toMatchObject({ window_opened_at: WINDOW_START, version: waiting.version + 1 });
    expect(actions(open)).toEqual(['change.window_opened']);
    expect(pendingDeadlines(open.next)).toEqual([]);
    expect(tick(open.next, after(WINDOW_START, MIN)).events).toEqual([]);
  });

  test('moving an opened window into the future closes it again', () => {
    const opened = tick(scheduled(), NOW).next;
    expect(opened.window_opened_at).toBe(WINDOW_START);
    const moved = patched(opened, { scheduled_start: after(WINDOW_START, DAY), scheduled_end: after(WINDOW_END, DAY) });
    expect(moved.window_opened_at).toBeNull();
    expect(nextDeadline(moved)).toEqual({ kind: 'window_open', at: Date.parse(WINDOW_START) + DAY });
  });

  test('an in-progress change overruns only once its window has ended', () => {
    const running = inProgress();
    expect(pendingDeadlines(running)).toEqual([{ kind: 'window_overrun', at: Date.parse(WINDOW_END) }]);
    expect(tick(running, after(WINDOW_END, -1)).events).toEqual([]);
    const over = tick(running, WINDOW_END);
    expect(over.next.window_overrun).toBe(true);
    expect(actions(over)).toEqual(['change.window_overrun']);
    expect(pendingDeadlines(over.next)).toEqual([]);
  });

  test('an unreviewed emergency change becomes overdue only after review_due_at', () => {
    const done = completed(emergencyInput);
    const due = Date.parse(NOW) + DAY;
    expect(pendingDeadlines(done)).toEqual([{ kind: 'review_overdue', at: due }]);
    expect(tick(done, new Date(due - 1).toISOString()).events).toEqual([]);
    const late = tick(done, new Date(due).toISOString());
    expect(late.next.review_overdue).toBe(true);
    expect(actions(late)).toEqual(['change.review_overdue']);
    expect(nextDeadline(late.next)).toBeUndefined();
  });

  test('a reviewed or normal change has no review deadline', () => {
    expect(pendingDeadlines(completed())).toEqual([]);
    expect(pendingDeadlines(step(completed(emergencyInput), { kind: 'review', input: { outcome: 'successful', notes: 'ok' } }, carol))).toEqual([]);
  });

  test('drafts and finished changes have no deadlines', () => {
    expect(nextDeadline(created())).toBeUndefined();
    expect(tick(created(), after(WINDOW_END, DAY)).events).toEqual([]);
    expect(pendingDeadlines(patched(completed(), { state: 'closed' }))).toEqual([]);
  });
});

describe('rescore and no-ops', () => {
  test.each([
    ['implementation_plan', { implementation_plan: '1. Snapshot\n2. Upgrade\n3. Verify' }],
    ['ci_id', { ci_id: 'aurora-prod-1' }],
    ['assignment_group', { assignment_group: 'DBA' }],
    ['type', { type: 'standard' as ChangeType }],
    ['window', { scheduled_start: after(WINDOW_START, HOUR), scheduled_end: after(WINDOW_END, HOUR) }],
  ])('editing %s asks for a new risk assessment', (_field, input) => {
    expect(decideAs(created(), { kind: 'patch', input }).rescore).toBe(true);
  });

  test.each([
    ['assigned_to', { assigned_to: 'carol@example.com' }],
    ['risk (the requester estimate)', { risk: 'high' as const }],
    ['cab_approvers', { cab_approvers: ['ops@example.com'] }],
  ])('editing %s does not', (_field, input) => {
    const d = decideAs(created(), { kind: 'patch', input });
    expect(d.events).toHaveLength(1);
    expect(d.rescore).toBe(false);
  });

  test('workflow commands that do not touch risk inputs do not rescore', () => {
    expect(decideAs(created(), { kind: 'submit' }).rescore).toBe(false);
    expect(decideAs(inCab(), { kind: 'approve', input: {} }, arch).rescore).toBe(false);
    expect(decideAs(inProgress(), { kind: 'patch', input: { state: 'completed' } }).rescore).toBe(false);
  });

  test('a patch that changes nothing produces no events and keeps the version', () => {
    const change = created();
    for (const input of [{ short_description: auroraInput.short_description }, { state: 'draft' as const }, { assignment_group: 'Platform Engineering', type: 'normal' as const }]) {
      const d = decideAs(change, { kind: 'patch', input }, alice, after(NOW, HOUR));
      expect(d.events).toEqual([]);
      expect(d.rescore).toBe(false);
      expect(d.next).toBe(change);
      expect(d.next.version).toBe(1);
      expect(d.next.updated_at).toBe(NOW);
    }
  });

  test('a change bumps the version by one and stamps updated_at, and the input object is not mutated', () => {
    const change = created();
    const snapshot = structuredClone(change);
    const later = after(NOW, HOUR);
    const d = decideAs(change, { kind: 'patch', input: { description: 'More detail' } }, alice, later);
    expect(d.next).toMatchObject({ version: 2, updated_at: later, description: 'More detail' });
    expect(d.events).toEqual([{ action: 'change.update', before: { description: auroraInput.description }, after: { description: 'More detail' } }]);
    expect(change).toEqual(snapshot);
  });

  test('withAssessment applies a score without bumping the version', () => {
    const change = created();
    const assessment = { ...UNASSESSED, risk_score: 42, risk_level: 'medium' as const, model_version: 'test' };
    const next = withAssessment(change, assessment, []);
    expect(next).toMatchObject({ risk_score: 42, risk_level: 'medium', risk_assessment: assessment, version: change.version });
  });
});

describe('illegal transitions', () => {
  const STATES: ChangeState[] = ['draft', 'submitted', 'cab_review', 'scheduled', 'in_progress', 'completed', 'closed', 'cancelled', 'failed', 'rejected', 'post_review'];
  const inputs: Record<ChangeType, CreateChangeInput> = { normal: auroraInput, standard: standardInput, emergency: { ...emergencyInput, scheduled_start: WINDOW_START, scheduled_end: WINDOW_END } };
  /** A change of the given type sitting in the given state; the other fields are those of a fresh draft. */
  const sittingIn = (type: ChangeType, state: ChangeState): Change => ({ ...created(inputs[type]), state });

  // submit_cab owns the cab_review edge and answers CAB_NOT_APPLICABLE for non-normal types (covered above).
  const illegal = (['normal', 'standard', 'emergency'] as const).flatMap((type) =>
    STATES.flatMap((from) =>
      STATES.filter((to) => to !== from && !canTransition({ type, state: from }, to) && !(type !== 'normal' && to === 'cab_review')).map((to) => [type, from, to] as const),
    ),
  );

  test.each(illegal)('%s: PATCH %s → %s is refused as invalid_state with the allowed next states', (type, from, to) => {
    const err = failure(() => patched(sittingIn(type, from), { state: to }, lead));
    expect(err.kind).toBe('invalid_state');
    expect(err.details).toMatchObject({ current_state: from, allowed_next_states: allowedNextStates({ type, state: from }) });
  });

  test.each((['normal', 'standard', 'emergency'] as const).flatMap((type) => STATES.filter((s) => s !== 'draft').map((s) => [type, s] as const)))(
    '%s: cancel from %s is refused',
    (type, from) => {
      expectFailure(() => step(sittingIn(type, from), { kind: 'cancel', input: {} }), 'invalid_state', 'INVALID_STATE_TRANSITION', {
        current_state: from,
        allowed_next_states: allowedNextStates({ type, state: from }),
        requested_state: 'cancelled',
      });
    },
  );

  test.each(['normal', 'standard', 'emergency'] as const)('%s: a draft can be cancelled', (type) => {
    const d = decideAs(created(inputs[type]), { kind: 'cancel', input: { reason: 'No longer needed' } });
    expect(d.next).toMatchObject({ state: 'cancelled', cancelled_at: NOW });
    expect(actions(d)).toEqual(['change.cancel']);
  });

  test('a change under CAB review is scheduled only by approvals, not by PATCH', () => {
    expectFailure(() => patched(inCab(), { state: 'scheduled' }), 'invalid_state', 'CAB_APPROVAL_REQUIRED', {
      current_state: 'cab_review',
      allowed_next_states: ['scheduled', 'rejected'],
      requested_state: 'scheduled',
    });
  });

  test('asking for the current state is a no-op, even in a terminal state', () => {
    for (const state of STATES) {
      const change = sittingIn('normal', state);
      const d = decideAs(change, { kind: 'patch', input: { state } }, lead);
      expect(d.events).toEqual([]);
      expect(d.next).toBe(change);
    }
  });

  test('the table above is not empty and includes the spec-critical refusals', () => {
    const has = (type: ChangeType, from: ChangeState, to: ChangeState) => illegal.some(([t, f, x]) => t === type && f === from && x === to);
    expect(has('normal', 'draft', 'scheduled')).toBe(true);
    expect(has('standard', 'submitted', 'in_progress')).toBe(true);
    expect(has('normal', 'submitted', 'scheduled')).toBe(true);
    expect(has('normal', 'closed', 'draft')).toBe(true);
    expect(has('emergency', 'failed', 'closed')).toBe(true);
  });
});

describe('who may do what (every path to a command checks the same permission)', () => {
  const developer: Actor = { userId: 'u-dev', email: 'dev@example.com', permissions: permissionsFor(['developer']) };
  const devChange = (input: CreateChangeInput = standardInput) => step(created(input, developer), { kind: 'submit' }, developer);
  const forbidden = (fn: () => unknown, required: string, code = 'FORBIDDEN') => expectFailure(fn, 'forbidden', code, { required });

  test('a developer plans their own change but cannot carry it out: start, complete, fail and close need change:implement', () => {
    const mine = devChange();
    expect(mine.state).toBe('scheduled');
    forbidden(() => patched(mine, { state: 'in_progress' }, developer), 'change:implement');
    const running = patched(mine, { state: 'in_progress' });
    forbidden(() => patched(running, { state: 'completed' }, developer), 'change:implement');
    forbidden(() => patched(running, { state: 'failed', actual_end: NOW }, developer), 'change:implement');
    const done = patched(running, { state: 'completed' });
    forbidden(() => patched(done, { state: 'closed' }, developer), 'change:implement');
    forbidden(() => patched(patched(running, { state: 'failed' }), { state: 'post_review' }, developer), 'change:implement');
    // Editing fields still only needs change:update.
    expect(patched(running, { assigned_to: 'dev@example.com' }, developer).assigned_to).toBe('dev@example.com');
  });

  test('a PATCH carrying a review needs change:review, exactly like POST …/review', () => {
    const done = patched(patched(devChange(emergencyInput), { state: 'in_progress' }), { state: 'completed' });
    const review = { outcome: 'successful' as const, notes: 'fine' };
    forbidden(() => patched(done, { review }, developer), 'change:review');
    forbidden(() => step(done, { kind: 'review', input: review }, developer), 'change:review');
    expect(patched(done, { review }, carol).state).toBe('closed');
  });

  test('separation of duties: the requester cannot review their own change by either path, whatever their role', () => {
    const boss: Actor = { ...developer, permissions: permissionsFor(['release-manager']) };
    const done = patched(patched(devChange(emergencyInput), { state: 'in_progress' }), { state: 'completed' });
    const review = { outcome: 'successful' as const, notes: 'fine' };
    expectFailure(() => patched(done, { review }, boss), 'forbidden', 'SOD_VIOLATION', { requested_by: 'dev@example.com' });
    expectFailure(() => step(done, { kind: 'review', input: review }, boss), 'forbidden', 'SOD_VIOLATION');
  });

  test('the permission is checked before the state: a viewer is refused whatever the change is doing', () => {
    forbidden(() => step(created(), { kind: 'submit' }, arch), 'change:update');
    forbidden(() => step(completed(), { kind: 'cancel', input: {} }, arch), 'change:update');
    forbidden(() => patched(completed(), { description: 'x' }, arch), 'change:update');
    forbidden(() => decideAs(undefined, { kind: 'create', input: auroraInput }, arch), 'change:create');
  });

  test('approve and reject need change:approve unless the caller is a named approver of this change', () => {
    forbidden(() => step(inCab(), { kind: 'approve', input: {} }, bob), 'change:approve', 'NOT_AN_APPROVER');
    forbidden(() => step(inCab(), { kind: 'reject', input: { reason: 'no' } }, bob), 'change:approve', 'NOT_AN_APPROVER');
    expect(step(inCab(), { kind: 'reject', input: { reason: 'no' } }, arch).state).toBe('rejected');
    // Named on another change does not count.
    forbidden(() => step(inCab({ ...auroraInput, cab_approvers: ['security@example.com'] }), { kind: 'approve', input: {} }, arch), 'change:approve', 'NOT_AN_APPROVER');
  });

  test("the workflow's own timer ticks need no permission", () => {
    expect(decideAs(inProgress(), { kind: 'tick' }, { userId: 'tollgate', permissions: [] }, WINDOW_END).next.window_overrun).toBe(true);
  });
});

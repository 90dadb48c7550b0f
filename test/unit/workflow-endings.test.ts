import { decide } from '../../domain/changes/commands';
import { changeResumable, markChangeEnded, resumeChange } from '../../domain/changes/ended-outside';
import type { Change } from '../../domain/changes/model';
import { markJobEnded } from '../../domain/deployments/ended-outside';
import { markPromotionEnded, promotionResumable, resumePromotion } from '../../domain/promotions/ended-outside';
import type { Promotion } from '../../domain/promotions/model';
import { endingText, reconcileRefusal, type WorkflowEnding } from '../../domain/workflow-endings';
import { jobBody, taskBody } from '../support/deployment-rows';

/** The rules that mark a record whose workflow was ended outside Tollgate, and say when a new run may take it over. */
const AT = '2026-05-01T10:00:00.000Z';
const NOW = '2026-05-01T10:00:05.000Z';
const terminated: WorkflowEnding = { how: 'terminated', by: 'ops@temporal-ui', reason: 'wrong button', at: AT, runId: 'r1' };
const cancelled: WorkflowEnding = { ...terminated, how: 'cancelled', reason: null };
const timedOut: WorkflowEnding = { how: 'timed_out', by: 'temporal', reason: 'the run reached its timeout', at: AT, runId: 'r1' };

const draft = (): Change =>
  decide(undefined, { kind: 'create', input: { type: 'standard', short_description: 'Rotate logs' } as never }, {
    now: AT,
    settings: { reviewDeadlineMs: 1, defaultCabQuorum: 1 },
    actor: { userId: 'alice', permissions: ['change:create'] },
    number: 7,
  }).next;

test('the text names how, by whom (for a cancel or terminate), when and why', () => {
  expect(endingText(terminated)).toBe(`workflow terminated outside Tollgate by ops@temporal-ui at ${AT}: wrong button`);
  expect(endingText(cancelled)).toBe(`workflow cancelled outside Tollgate by ops@temporal-ui at ${AT}`);
  expect(endingText(timedOut)).toBe(`workflow timed out outside Tollgate at ${AT}: the run reached its timeout`);
});

test('a change is marked cancelled whichever way its run ended, once, and resumes in the state it had', () => {
  const change = draft();
  const marked = markChangeEnded(change, terminated, NOW)!;
  expect(marked.next).toMatchObject({ state: 'cancelled', cancelled_at: AT, version: change.version + 1, updated_at: NOW });
  expect(marked.events).toEqual([expect.objectContaining({ action: 'change.workflow_ended_outside', before: { state: 'draft', version: 1 } })]);
  expect(markChangeEnded(marked.next, terminated, NOW)).toBeNull();
  expect(changeResumable('draft')).toBe(true);
  expect(changeResumable('cancelled')).toBe(false);
  expect(resumeChange(marked.next, 'draft', NOW).next).toMatchObject({ state: 'draft', cancelled_at: null, version: change.version + 2 });
});

test('a promotion is cancelled by a cancel, failed otherwise; only an undecided one resumes', () => {
  const p = { id: 'p1', status: 'awaiting_approval', decidedAt: null, decision: null, statusReason: null, heldUntil: null, completedAt: null, version: 3, updatedAt: AT } as unknown as Promotion;
  expect(markPromotionEnded(p, cancelled, NOW)!.next).toMatchObject({ status: 'cancelled', decision: 'deny', decidedAt: AT, version: 4 });
  const failed = markPromotionEnded(p, terminated, NOW)!.next;
  expect(failed).toMatchObject({ status: 'failed', statusReason: endingText(terminated), completedAt: AT });
  expect(markPromotionEnded(failed, terminated, NOW)).toBeNull();
  expect(['pending', 'awaiting_approval', 'approved', 'deploying'].filter((s) => promotionResumable(s as never))).toEqual(['pending', 'awaiting_approval']);
  expect(resumePromotion(failed, { status: 'awaiting_approval', decidedAt: null }, NOW).next).toMatchObject({ status: 'awaiting_approval', decision: null, decidedAt: null, statusReason: null, version: 5 });
});

test('a job is failed and its unfinished tasks cancelled; targets never started stay pending', () => {
  const job = { ...jobBody('t1', { status: 'running' }), progress: { total: 3, succeeded: 1, failed: 0, skipped: 0, cancelled: 0, running: 1, pending: 1 } };
  const done = taskBody(job, { status: 'succeeded', targetId: 'a' });
  const running = taskBody(job, { status: 'running', targetId: 'b' });
  const marked = markJobEnded(job, [done, running], terminated, NOW)!;
  expect(marked.job).toMatchObject({ status: 'failed', statusReason: endingText(terminated), finishedAt: AT, version: job.version + 1 });
  expect(marked.job.progress).toEqual({ total: 3, succeeded: 1, failed: 0, skipped: 0, cancelled: 1, running: 0, pending: 1 });
  expect(marked.tasks).toEqual([expect.objectContaining({ id: running.id, status: 'cancelled', version: running.version + 1, error: { code: 'WORKFLOW_ENDED_OUTSIDE', message: endingText(terminated) } })]);
  expect(markJobEnded(marked.job, [], terminated, NOW)).toBeNull();
});

test('reconcile refuses a cancel in Temporal and a state no new run can take over', () => {
  expect(reconcileRefusal(terminated, true, 'draft', 'change', 'create a new change')).toBeNull();
  expect(reconcileRefusal(cancelled, true, 'draft', 'change', 'create a new change')).toBe('its workflow was cancelled in Temporal by ops@temporal-ui, which cancels the change for good; create a new change');
  expect(reconcileRefusal(terminated, false, 'deploying', 'promotion', 'request a new promotion')).toBe(
    'it was deploying when its workflow ended, and a new run cannot safely take over from there; request a new promotion',
  );
});

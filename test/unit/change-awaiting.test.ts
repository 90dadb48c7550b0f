import { awaitingDecisions, changeResource } from '../../domain/changes/cab';
import type { Approval, Change } from '../../domain/changes/model';

/** `awaiting` on the change resource: the named CAB approvers who have not decided this round, only under review. */
const decision = (approver: string, approver_id: string, round: number, d: Approval['decision'] = 'approved'): Approval => ({
  approver,
  approver_id,
  decision: d,
  comment: null,
  decided_at: '2026-05-25T02:00:00.000Z',
  round,
});
const change = (over: Partial<Pick<Change, 'state' | 'approvals' | 'cab_round' | 'cab_approvers'>>) => ({
  state: 'cab_review' as const,
  approvals: [],
  cab_round: 1,
  cab_approvers: ['carol@example.com', 'dan@example.com', 'u-erin'],
  ...over,
});

test('under review: the named approvers without a decision this round, matched by email (any case) or user id', () => {
  expect(awaitingDecisions(change({}))).toEqual(['carol@example.com', 'dan@example.com', 'u-erin']);
  const approvals = [decision('Carol@Example.com', 'u-carol', 1), decision('erin@example.com', 'u-erin', 1), decision('dan@example.com', 'u-dan', 0)];
  // Dan decided in an earlier round only: this round still waits on him.
  expect(awaitingDecisions(change({ approvals }))).toEqual(['dan@example.com']);
});

test('outside review nobody is awaited; a change naming no approvers lists nobody', () => {
  for (const state of ['draft', 'submitted', 'scheduled', 'rejected', 'cancelled'] as const) expect(awaitingDecisions(change({ state }))).toEqual([]);
  expect(awaitingDecisions(change({ cab_approvers: [] }))).toEqual([]);
});

test('the resource is the record with awaiting recomputed, whatever the record carried', () => {
  const stale = { ...change({ state: 'scheduled' }), awaiting: ['carol@example.com'] } as unknown as Change;
  expect(changeResource(stale).awaiting).toEqual([]);
});

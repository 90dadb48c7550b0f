import { DomainError } from '../../domain/errors';
import type { Incident } from '../../domain/incidents/model';
import { DEFAULT_PRIORITY_MATRIX } from '../../domain/incidents/priority';
import { createIncident, patchIncident } from '../../domain/incidents/rules';
import { thrown } from '../support/thrown';

const ctx = { now: '2026-05-19T14:30:00.000Z', actor: { userId: 'u-1', email: 'john.smith@example.com' }, matrix: DEFAULT_PRIORITY_MATRIX };
const later = { ...ctx, now: '2026-05-19T14:45:00.000Z' };
const base = (overrides: Partial<Incident> = {}): Incident => ({ ...createIncident({ short_description: 'Database timeout in prod' }, 'INC0001234', ctx).next, ...overrides });

test('create: opened_by from the caller, priority from the matrix, one audit event, the clock told', () => {
  const d = createIncident({ short_description: 'x', impact: 'medium', urgency: 'high', change_id: 'CHG0000456' }, 'INC0001234', ctx);
  expect(d.next).toMatchObject({ id: 'INC0001234', number: 'INC0001234', priority: 'P2', state: 'new', opened_by: 'john.smith@example.com', version: 1 });
  expect(d.events.map((e) => e.action)).toEqual(['incident.create']);
  expect(d).toMatchObject({ clockMoved: true, changeLink: { from: null, to: 'CHG0000456' } });
  expect(createIncident({ short_description: 'x' }, 'INC0000001', { ...ctx, actor: { userId: 'svc-bot' } }).next.opened_by).toBe('svc-bot');
});

test('patch: field edits and a transition are two audit events, one version', () => {
  const d = patchIncident(base(), { assigned_to: 'jane.doe@example.com', state: 'in_progress' }, later);
  expect(d.events).toEqual([
    { action: 'incident.update', before: { assigned_to: null }, after: { assigned_to: 'jane.doe@example.com' } },
    { action: 'incident.start', before: { state: 'new' }, after: { state: 'in_progress' } },
  ]);
  expect(d.next).toMatchObject({ version: 2, updated_at: later.now });
  expect(d.clockMoved).toBe(true);
});

test('patch: nothing that differs is no change at all', () => {
  const current = base({ assigned_to: 'a@example.com' });
  const d = patchIncident(current, { assigned_to: 'a@example.com', state: 'new' }, later);
  expect(d).toEqual({ next: current, events: [], clockMoved: false });
});

test('patch: only state and priority move the clock; a work note alone is no field change', () => {
  expect(patchIncident(base(), { description: 'more detail' }, later).clockMoved).toBe(false);
  expect(patchIncident(base(), { priority: 'P1' }, later).clockMoved).toBe(true);
  expect(patchIncident(base(), { work_note: 'looking' }, later).events).toEqual([]);
});

test('patch: illegal transitions and edits of a closed incident are invalid_state failures naming the way on', () => {
  const illegal = thrown(DomainError, () => patchIncident(base(), { state: 'resolved' }, later));
  expect(illegal).toMatchObject({ kind: 'invalid_state', code: 'INVALID_STATE_TRANSITION', details: { current_state: 'new', allowed_next_states: ['in_progress', 'cancelled'], requested_state: 'resolved' } });
  const closed = thrown(DomainError, () => patchIncident(base({ state: 'closed' }), { priority: 'P1' }, later));
  expect(closed).toMatchObject({ code: 'INCIDENT_CLOSED', details: { current_state: 'closed', allowed_next_states: [] } });
  expect(patchIncident(base({ state: 'closed' }), { work_note: 'retro done' }, later).events).toEqual([]);
});

test('patch: resolving stamps resolved_at, closing closed_at, reopening clears resolved_at', () => {
  const resolved = patchIncident(base({ state: 'in_progress' }), { state: 'resolved' }, later).next;
  expect(resolved.resolved_at).toBe(later.now);
  expect(patchIncident(resolved, { state: 'closed' }, later).next.closed_at).toBe(later.now);
  expect(patchIncident(resolved, { state: 'reopened' }, later).next.resolved_at).toBeNull();
});

test('patch: resolution notes come with a resolve or close, or correct a resolved incident; a reopen clears them', () => {
  const early = thrown(DomainError, () => patchIncident(base({ state: 'in_progress' }), { resolution_notes: 'Restarted it.' }, later));
  expect(early).toMatchObject({ kind: 'invalid_state', code: 'INCIDENT_NOT_RESOLVED', details: { current_state: 'in_progress', allowed_next_states: ['on_hold', 'resolved'] } });
  const d = patchIncident(base({ state: 'in_progress' }), { state: 'resolved', resolution_notes: 'Restarted it.' }, later);
  expect(d.next).toMatchObject({ state: 'resolved', resolution_notes: 'Restarted it.', version: 2 });
  expect(d.events.map((e) => e.action)).toEqual(['incident.resolve', 'incident.resolution']);
  expect(patchIncident(d.next, { resolution_notes: 'Restarted it.' }, later).events).toEqual([]);
  expect(patchIncident(d.next, { resolution_notes: 'Raised the pool.' }, later).events).toEqual([
    { action: 'incident.resolution', before: { resolution_notes: 'Restarted it.' }, after: { resolution_notes: 'Raised the pool.' } },
  ]);
  expect(patchIncident(d.next, { state: 'closed', resolution_notes: 'Raised the pool.' }, later).next).toMatchObject({ state: 'closed', resolution_notes: 'Raised the pool.' });
  expect(patchIncident(d.next, { state: 'reopened' }, later).next).toMatchObject({ resolution_notes: null, resolved_at: null });
  expect(thrown(DomainError, () => patchIncident(base({ state: 'closed' }), { resolution_notes: 'late' }, later)).code).toBe('INCIDENT_CLOSED');
});

test('patch: impact/urgency recompute the priority unless one is sent', () => {
  const current = base({ impact: 'low', urgency: 'low', priority: 'P4' });
  expect(patchIncident(current, { impact: 'high', urgency: 'high' }, later).next.priority).toBe('P1');
  expect(patchIncident(current, { impact: 'high', urgency: 'high', priority: 'P3' }, later).next.priority).toBe('P3');
  expect(patchIncident(current, { impact: null }, later).next.priority).toBe('P4');
});

test('patch: moving change_id reports both ends', () => {
  expect(patchIncident(base({ change_id: 'CHG0000001' }), { change_id: 'CHG0000002' }, later).changeLink).toEqual({ from: 'CHG0000001', to: 'CHG0000002' });
  expect(patchIncident(base(), { category: 'db' }, later).changeLink).toBeUndefined();
});

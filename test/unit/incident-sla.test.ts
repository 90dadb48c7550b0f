import type { IncidentState, Priority } from '../../domain/incidents/model';
import { parseBusinessHours } from '../../domain/incidents/business-hours';
import { humanSpan, mergeTimeline, nextWakeUp, slaAfterWrite, slaClock, type SlaEvent } from '../../domain/incidents/sla';
import { DEFAULT_SLA_POLICY, parsePriorityList, parseSlaTargets, type SlaPolicy } from '../../domain/incidents/sla-policy';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-05-19T14:30:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A timeline from [minutes after T0, state, priority] steps. */
function timeline(...steps: Array<[number, IncidentState, Priority]>): SlaEvent[] {
  return steps.map(([minutes, state, priority], i) => ({ version: i + 1, state, priority, at: iso(T0 + minutes * MIN) }));
}

const policy: SlaPolicy = {
  response_ms: { P1: 15 * MIN, P2: HOUR, P3: 8 * HOUR, P4: 24 * HOUR },
  resolution_ms: { P1: 4 * HOUR, P2: 8 * HOUR, P3: 72 * HOUR, P4: 120 * HOUR },
  warning_ratio: 0.75,
  business_hours: null,
};

test('a new P1: response due in 15 min, resolution in 4 h, warnings at three quarters', () => {
  const clock = slaClock(timeline([0, 'new', 'P1']), policy, T0 + MIN);
  expect(clock.clock).toBe('running');
  expect(clock.response).toMatchObject({ running: true, due_at: T0 + 15 * MIN, warn_at: T0 + 11.25 * MIN, elapsed_ms: MIN, breached_at: null });
  expect(clock.resolution).toMatchObject({ running: true, due_at: T0 + 4 * HOUR, warn_at: T0 + 3 * HOUR });
  expect(nextWakeUp(clock)).toEqual({ at: T0 + 11.25 * MIN, what: 'response SLA warning' });
});

test('leaving new meets the response target; nothing wakes for it any more', () => {
  const clock = slaClock(timeline([0, 'new', 'P1'], [5, 'in_progress', 'P1']), policy, T0 + 30 * MIN);
  expect(clock.response).toMatchObject({ running: false, breached_at: null, warned_at: null, elapsed_ms: 5 * MIN });
  expect(nextWakeUp(clock)).toEqual({ at: T0 + 3 * HOUR, what: 'resolution SLA warning' });
});

test('a breach is found at the exact moment, and stays found', () => {
  const events = timeline([0, 'new', 'P1']);
  expect(slaClock(events, policy, T0 + 15 * MIN - 1).response.breached_at).toBeNull();
  expect(slaClock(events, policy, T0 + 15 * MIN).response.breached_at).toBe(T0 + 15 * MIN);
  const later = slaClock([...events, ...timeline([0, 'new', 'P1'], [20, 'in_progress', 'P1']).slice(1)], policy, T0 + HOUR);
  expect(later.response).toMatchObject({ breached_at: T0 + 15 * MIN, warned_at: T0 + 11.25 * MIN, running: false });
});

test('on hold pauses the resolution clock; the breach moves out by the time paused', () => {
  const events = timeline([0, 'new', 'P1'], [10, 'in_progress', 'P1'], [30, 'on_hold', 'P1'], [90, 'in_progress', 'P1']);
  const paused = slaClock(events.slice(0, 3), policy, T0 + 60 * MIN);
  expect(paused.clock).toBe('paused');
  expect(paused.resolution).toMatchObject({ running: false, elapsed_ms: 30 * MIN, due_at: T0 + 4 * HOUR });
  expect(nextWakeUp(paused)).toBeUndefined();
  const resumed = slaClock(events, policy, T0 + 100 * MIN);
  expect(resumed.resolution).toMatchObject({ running: true, elapsed_ms: 40 * MIN, due_at: T0 + 4 * HOUR + 60 * MIN });
});

test('a priority change recomputes the target and keeps the time counted', () => {
  const events = timeline([0, 'in_progress', 'P3'], [60, 'in_progress', 'P2']);
  expect(slaClock(events, policy, T0 + 61 * MIN).resolution).toMatchObject({ target_ms: 8 * HOUR, due_at: T0 + 8 * HOUR, breached_at: null });
  // Raised to P1 after 5 h: already past its 4 h, so breached the moment it changed.
  const late = timeline([0, 'in_progress', 'P3'], [300, 'in_progress', 'P1']);
  expect(slaClock(late, policy, T0 + 301 * MIN).resolution).toMatchObject({ breached_at: T0 + 300 * MIN, warned_at: T0 + 300 * MIN, due_at: T0 + 300 * MIN });
  // Lowered after a breach: the breach stays recorded.
  const lowered = timeline([0, 'in_progress', 'P1'], [300, 'in_progress', 'P4']);
  expect(slaClock(lowered, policy, T0 + 301 * MIN).resolution.breached_at).toBe(T0 + 4 * HOUR);
});

test('resolved stops the clock, reopened resumes it with the time counted before', () => {
  const events = timeline([0, 'in_progress', 'P2'], [60, 'resolved', 'P2'], [180, 'reopened', 'P2']);
  const stopped = slaClock(events.slice(0, 2), policy, T0 + 120 * MIN);
  expect(stopped).toMatchObject({ clock: 'stopped', resolution: { running: false, elapsed_ms: HOUR } });
  const reopened = slaClock(events, policy, T0 + 200 * MIN);
  expect(reopened).toMatchObject({ clock: 'running', resolution: { running: true, elapsed_ms: 80 * MIN, due_at: T0 + 8 * HOUR + 120 * MIN } });
  expect(slaClock(timeline([0, 'new', 'P2'], [1, 'cancelled', 'P2']), policy, T0 + HOUR).clock).toBe('stopped');
});

test('signals merge by version, whatever order they arrive in, and a clock never runs backwards', () => {
  const all = timeline([0, 'new', 'P1'], [10, 'in_progress', 'P1'], [30, 'on_hold', 'P1'], [90, 'in_progress', 'P1']);
  const merged = mergeTimeline(mergeTimeline([], [all[0], all[3]]), [all[1], all[2], all[3]]);
  expect(merged).toEqual(all);
  const skewed = [all[0], { ...all[1], at: iso(T0 - 5 * MIN) }];
  expect(slaClock(skewed, policy, T0 + 10 * MIN).resolution.elapsed_ms).toBe(10 * MIN);
});

test('business hours: a P3 opened on a Friday afternoon counts only working time', () => {
  const hours = { ...parseBusinessHours('Mon-Fri 09:00-17:00')!, priorities: parsePriorityList('P3,P4')! };
  const business: SlaPolicy = { ...policy, resolution_ms: { ...policy.resolution_ms, P3: 4 * HOUR }, business_hours: hours };
  const friday = Date.parse('2026-05-22T15:00:00Z');
  const events: SlaEvent[] = [{ version: 1, state: 'new', priority: 'P3', at: iso(friday) }];
  const clock = slaClock(events, business, Date.parse('2026-05-23T12:00:00Z'));
  expect(clock.resolution).toMatchObject({ elapsed_ms: 2 * HOUR, due_at: Date.parse('2026-05-25T11:00:00Z') });
  // P1 is not in the business-hours list: around the clock.
  const p1 = slaClock([{ ...events[0], priority: 'P1' }], business, friday);
  expect(p1.resolution.due_at).toBe(friday + 4 * HOUR);
});

test('policy targets parse from configuration text', () => {
  expect(parseSlaTargets('P1=30m, p4=2d', DEFAULT_SLA_POLICY.resolution_ms)).toEqual({ ...DEFAULT_SLA_POLICY.resolution_ms, P1: 30 * MIN, P4: 48 * HOUR });
  for (const bad of ['', 'P1', 'P5=1h', 'P1=soon', 'P1=0s']) expect(parseSlaTargets(bad, DEFAULT_SLA_POLICY.resolution_ms)).toBeUndefined();
  expect(parsePriorityList('all')).toEqual(['P1', 'P2', 'P3', 'P4']);
  expect(parsePriorityList('P2,P9')).toBeUndefined();
});

test('spans read as the Temporal UI shows them', () => {
  expect(humanSpan(45_000)).toBe('45s');
  expect(humanSpan(2 * HOUR + 5 * MIN)).toBe('2h 5m');
  expect(humanSpan(3 * 24 * HOUR + HOUR)).toBe('3d 1h');
  expect(humanSpan(-5)).toBe('0s');
});

test('the clock a write answers with: paused on hold with the due time kept, moved out by the time held on resume, recorded facts kept', () => {
  const held = slaAfterWrite(timeline([0, 'new', 'P2'], [10, 'in_progress', 'P2'], [30, 'on_hold', 'P2']), policy, T0 + 30 * MIN, null);
  expect(held).toMatchObject({ clock: 'paused', resolution_due_at: iso(T0 + 8 * HOUR), response_breached: false, warned: false, computed_at: iso(T0 + 30 * MIN) });
  const resumed = slaAfterWrite(timeline([0, 'new', 'P2'], [10, 'in_progress', 'P2'], [30, 'on_hold', 'P2'], [75, 'in_progress', 'P2']), policy, T0 + 75 * MIN, held);
  expect(resumed).toMatchObject({ clock: 'running', resolution_due_at: iso(T0 + 8 * HOUR + 45 * MIN) });
  const breachedBefore = { ...held, resolution_breached: true, warned: true };
  expect(slaAfterWrite(timeline([0, 'new', 'P2'], [10, 'in_progress', 'P2']), policy, T0 + 10 * MIN, breachedBefore)).toMatchObject({ resolution_breached: true, warned: true });
});

import { addIsoDuration, parseIsoDuration } from '../../domain/iso-duration';
import { freezeStatus, occurrences, recurrenceProblem, type FreezeWindow } from '../../domain/promotions/freeze';
import { instantOf } from '../../domain/time-zone';

const weekend: FreezeWindow = {
  id: 'w1',
  name: 'Weekend',
  exemptReleaseClasses: ['hotfix'],
  rrule: 'FREQ=WEEKLY;BYDAY=SA',
  timezone: 'Europe/Berlin',
  duration: 'PT48H',
  createdAt: '2026-03-01T10:00:00Z',
};
const yearEnd: FreezeWindow = {
  id: 'w2',
  name: 'Year-end freeze',
  reason: 'holidays',
  exemptReleaseClasses: ['hotfix'],
  start: '2026-12-20T00:00:00.000Z',
  end: '2026-12-27T00:00:00.000Z',
  createdAt: '2026-11-01T00:00:00Z',
};
const at = (iso: string) => Date.parse(iso);

describe('freeze windows', () => {
  it('opens a weekly window at local midnight on both sides of the spring DST change', () => {
    const spans = occurrences(weekend, at('2026-03-20T00:00:00Z'), at('2026-04-10T00:00:00Z'));
    expect(spans.map((s) => s.start)).toEqual(['2026-03-20T23:00:00.000Z', '2026-03-27T23:00:00.000Z', '2026-04-03T22:00:00.000Z']);
    // PT48H is exact: across the change it ends at 01:00 local Monday.
    expect(spans[1].end).toBe('2026-03-29T23:00:00.000Z');
  });

  it('says whether a freeze is active now and when the next starts and ends', () => {
    expect(freezeStatus([weekend, yearEnd], at('2026-12-22T12:00:00Z'))).toMatchObject({
      // The weekend freeze starting Saturday 26th (local midnight) overlaps the year-end one and extends it.
      active: { name: 'Year-end freeze', end: '2026-12-27T23:00:00.000Z' },
      next: { name: 'Weekend', start: '2027-01-01T23:00:00.000Z' },
    });
    expect(freezeStatus([yearEnd], at('2026-12-01T00:00:00Z'))).toEqual({ active: null, next: expect.objectContaining({ start: '2026-12-20T00:00:00.000Z', end: '2026-12-27T00:00:00.000Z' }) });
  });

  it('merges back-to-back windows into one freeze', () => {
    const next: FreezeWindow = { ...yearEnd, id: 'w3', name: 'Extension', start: '2026-12-27T00:00:00.000Z', end: '2026-12-28T00:00:00.000Z' };
    expect(freezeStatus([yearEnd, next], at('2026-12-22T00:00:00Z')).active?.end).toBe('2026-12-28T00:00:00.000Z');
  });

  it('lets exempt release classes through', () => {
    expect(freezeStatus([yearEnd], at('2026-12-22T00:00:00Z'), 'hotfix').active).toBeNull();
    expect(freezeStatus([yearEnd], at('2026-12-22T00:00:00Z'), 'standard').active).not.toBeNull();
  });

  it('validates recurrences', () => {
    expect(recurrenceProblem('FREQ=WEEKLY;BYDAY=SA', 'Europe/Berlin', 'PT48H')).toBeUndefined();
    expect(recurrenceProblem('FREQ=WEEKLY', 'Mars/Olympus', 'PT48H')).toMatchObject({ field: 'timezone' });
    expect(recurrenceProblem('FREQ=WEEKLY', 'UTC', '48 hours')).toMatchObject({ field: 'duration' });
    expect(recurrenceProblem('BYDAY=XX', 'UTC', 'PT1H')).toMatchObject({ field: 'rrule' });
  });
});

describe('a window stored before ends were bounded', () => {
  it('is in force until its far end, without expanding a daily rule out to it', () => {
    const daily: FreezeWindow = { ...weekend, id: 'w3', name: 'Nightly', rrule: 'FREQ=DAILY', duration: 'PT1H', exemptReleaseClasses: [] };
    const far: FreezeWindow = { ...yearEnd, id: 'w4', name: 'Forever', exemptReleaseClasses: [], start: '2026-12-01T00:00:00.000Z', end: '2900-01-01T00:00:00.000Z' };
    expect(freezeStatus([daily, far], at('2026-12-22T12:00:00Z'))).toMatchObject({ active: { name: 'Forever', end: '2900-01-01T00:00:00.000Z' }, next: null });
  });
});

describe('ISO durations and time zones', () => {
  it('adds nominal days in local time and exact hours', () => {
    const start = at('2026-03-28T23:00:00.000Z'); // Sunday 00:00 CET, the night DST starts
    expect(new Date(addIsoDuration(start, parseIsoDuration('P1D')!, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(new Date(addIsoDuration(start, parseIsoDuration('PT24H')!, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T23:00:00.000Z');
    expect(parseIsoDuration('P')).toBeUndefined();
    expect(parseIsoDuration('PT')).toBeUndefined();
  });
  it('moves a time in the spring-forward gap forward', () => {
    expect(new Date(instantOf({ year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });
});

import { addCounted, countedMs, parseBusinessHours } from '../../domain/incidents/business-hours';

const HOUR = 3_600_000;
const t = (iso: string) => Date.parse(iso);
const weekdays = parseBusinessHours('Mon-Fri 09:00-17:00')!;

test('parses days, hours and an offset', () => {
  expect(weekdays).toEqual({ days: [1, 2, 3, 4, 5], start_minute: 540, end_minute: 1020, utc_offset_minutes: 0 });
  expect(parseBusinessHours('Sat,Sun 10:00-14:30 +01:00')).toEqual({ days: [0, 6], start_minute: 600, end_minute: 870, utc_offset_minutes: 60 });
  expect(parseBusinessHours('Fri-Mon 00:00-24:00 -05:30')!.days).toEqual([0, 1, 5, 6]);
  for (const bad of ['Mon-Fri', 'Funday 09:00-17:00', 'Mon 17:00-09:00', 'Mon 09:00-17:60', 'Mon 09:00-17:00 +15:00']) expect(parseBusinessHours(bad)).toBeUndefined();
});

test('only business hours count (2026-05-22 is a Friday)', () => {
  expect(countedMs(t('2026-05-22T08:00:00Z'), t('2026-05-22T10:00:00Z'), weekdays)).toBe(HOUR);
  expect(countedMs(t('2026-05-22T16:00:00Z'), t('2026-05-25T10:00:00Z'), weekdays)).toBe(2 * HOUR);
  expect(countedMs(t('2026-05-23T00:00:00Z'), t('2026-05-24T23:59:59Z'), weekdays)).toBe(0);
  expect(countedMs(t('2026-05-22T16:00:00Z'), t('2026-05-22T10:00:00Z'), weekdays)).toBe(0);
  expect(countedMs(t('2026-05-22T16:00:00Z'), t('2026-05-22T18:00:00Z'))).toBe(2 * HOUR);
});

test('adding counted time skips nights and weekends', () => {
  expect(addCounted(t('2026-05-22T16:00:00Z'), 2 * HOUR, weekdays)).toBe(t('2026-05-25T10:00:00Z'));
  expect(addCounted(t('2026-05-23T12:00:00Z'), HOUR, weekdays)).toBe(t('2026-05-25T10:00:00Z'));
  expect(addCounted(t('2026-05-22T06:00:00Z'), 8 * HOUR, weekdays)).toBe(t('2026-05-22T17:00:00Z'));
  expect(addCounted(t('2026-05-22T06:00:00Z'), 0, weekdays)).toBe(t('2026-05-22T06:00:00Z'));
});

test('an offset shifts the working day', () => {
  const berlin = parseBusinessHours('Mon-Fri 09:00-17:00 +02:00')!;
  expect(addCounted(t('2026-05-22T06:00:00Z'), HOUR, berlin)).toBe(t('2026-05-22T08:00:00Z'));
  expect(countedMs(t('2026-05-22T00:00:00Z'), t('2026-05-23T00:00:00Z'), berlin)).toBe(8 * HOUR);
});

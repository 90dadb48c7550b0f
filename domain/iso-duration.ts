import { floatingToWallClock, instantOf, wallClockAt, wallClockToFloating } from './time-zone';

/**
 * ISO 8601 / RFC 5545 durations ("PT48H", "P1DT12H", "P2W"). Weeks and days are
 * nominal (local calendar days, so "P1D" across a DST change is 23 or 25 hours);
 * hours, minutes and seconds are exact, as RFC 5545 §3.3.6 defines.
 */
export interface IsoDuration {
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const PATTERN = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

export function parseIsoDuration(text: string): IsoDuration | undefined {
  const m = PATTERN.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [weeks, days, hours, minutes, seconds] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const d = { weeks, days, hours, minutes, seconds };
  return Object.values(d).some((v) => v > 0) ? d : undefined;
}

/** The instant a duration after `startMs` ends, counting nominal days in `timeZone`. */
export function addIsoDuration(startMs: number, d: IsoDuration, timeZone: string): number {
  let t = startMs;
  const nominalDays = d.weeks * 7 + d.days;
  if (nominalDays) {
    const wall = wallClockAt(t, timeZone);
    const shifted = floatingToWallClock(wallClockToFloating(wall) + nominalDays * 86_400_000);
    t = instantOf(shifted, timeZone);
  }
  return t + ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000;
}

/** An upper bound of the duration's length in ms (nominal days taken as 25 hours). */
export function maxLengthMs(d: IsoDuration): number {
  return (d.weeks * 7 + d.days) * 25 * 3_600_000 + ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000;
}

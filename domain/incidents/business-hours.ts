/**
 * Counting time only inside business hours: the same hours on the same
 * weekdays, at a fixed UTC offset. Without a calendar every millisecond
 * counts. Pure arithmetic on epoch milliseconds, so the SLA workflow can use it.
 */
export interface BusinessHours {
  /** Weekdays that have business hours, 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** Minutes after local midnight. */
  start_minute: number;
  end_minute: number;
  utc_offset_minutes: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Business hours of the local day containing `at`, as epoch-ms bounds (undefined on a day off). */
function windowOfDay(localDayStart: number, hours: BusinessHours): [number, number] | undefined {
  const weekday = new Date(localDayStart).getUTCDay();
  if (!hours.days.includes(weekday)) return undefined;
  const offset = hours.utc_offset_minutes * MINUTE;
  return [localDayStart + hours.start_minute * MINUTE - offset, localDayStart + hours.end_minute * MINUTE - offset];
}

/** Midnight (local time, expressed as a UTC-shifted instant) of the day containing `at`. */
function localDayStart(at: number, hours: BusinessHours): number {
  const local = at + hours.utc_offset_minutes * MINUTE;
  return local - (((local % DAY) + DAY) % DAY);
}

/** Milliseconds between `from` and `to` that count. */
export function countedMs(from: number, to: number, hours?: BusinessHours | null): number {
  if (!(to > from)) return 0;
  if (!hours) return to - from;
  let total = 0;
  for (let day = localDayStart(from, hours); day - hours.utc_offset_minutes * MINUTE < to; day += DAY) {
    const window = windowOfDay(day, hours);
    if (!window) continue;
    const start = Math.max(window[0], from);
    const end = Math.min(window[1], to);
    if (end > start) total += end - start;
  }
  return total;
}

/** The instant at which `amount` counted milliseconds have passed since `from`. */
export function addCounted(from: number, amount: number, hours?: BusinessHours | null): number {
  if (!(amount > 0)) return from;
  if (!hours) return from + amount;
  let left = amount;
  for (let day = localDayStart(from, hours); ; day += DAY) {
    const window = windowOfDay(day, hours);
    if (!window) continue;
    const start = Math.max(window[0], from);
    const length = window[1] - start;
    if (length <= 0) continue;
    if (left <= length) return start + left;
    left -= length;
  }
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/**
 * Reads "Mon-Fri 09:00-17:00" with an optional offset ("+01:00", "-05:30",
 * "UTC"); days may also be a list ("Mon,Wed,Fri"). Undefined when it does not parse.
 */
export function parseBusinessHours(text: string): BusinessHours | undefined {
  const match = /^\s*([A-Za-z,\-]+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+(UTC|Z|[+-]\d{2}:\d{2}))?\s*$/.exec(text);
  if (!match) return undefined;
  const [, daysText, sh, sm, eh, em, zone] = match;
  const days = new Set<number>();
  for (const part of daysText.toLowerCase().split(',')) {
    const [a, b] = part.split('-');
    const first = WEEKDAYS.indexOf(a.slice(0, 3));
    const last = b === undefined ? first : WEEKDAYS.indexOf(b.slice(0, 3));
    if (first < 0 || last < 0) return undefined;
    for (let d = first; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === last) break;
    }
  }
  const start = Number(sh) * 60 + Number(sm);
  const end = Number(eh) * 60 + Number(em);
  if (Number(sm) > 59 || Number(em) > 59 || start >= end || end > 24 * 60) return undefined;
  let offset = 0;
  if (zone && zone !== 'UTC' && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    if (Math.abs(offset) > 14 * 60) return undefined;
  }
  return { days: [...days].sort((a, b) => a - b), start_minute: start, end_minute: end, utc_offset_minutes: offset };
}

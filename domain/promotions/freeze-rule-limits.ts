import { RRule } from 'rrule';
import type { IsoDuration } from '../iso-duration';

/**
 * Which recurrences a freeze window may have, checked where the window is
 * created. The rrule library accepts more than it can expand (BYDAY=XX and
 * BYSETPOS=0 throw only when expanded; INTERVAL=0 and COUNT=abc silently never
 * repeat) and it walks every FREQ period from the first occurrence until it
 * finds a match: a rule no date matches (30 February, the first Monday on the
 * 15th, a yearly 29 February every fourth year from an odd one) is searched up
 * to year 9999 on every read, and a rule repeating within the day multiplies
 * the work. Freezes are days, weekends, month and year ends, so a window takes
 * the subset of RFC 5545 for which "some date matches" can be decided from the
 * rule's parts, at most one occurrence a day, each ending before the next
 * starts and at most a year long.
 */
export interface RuleProblem {
  field: 'rrule' | 'duration';
  message: string;
}

type Freq = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';

interface Part {
  valid: (value: string) => boolean;
  /** Several comma-separated values allowed. */
  list: boolean;
  expected: string;
}

const WEEKDAY = /^(?:MO|TU|WE|TH|FR|SA|SU)$/;
const BYDAY = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/;

function integer(min: number, max: number, signed = false) {
  return (v: string) => (signed ? /^[+-]?\d{1,4}$/ : /^\d{1,5}$/).test(v) && Math.abs(Number(v)) >= min && Math.abs(Number(v)) <= max;
}

/** A calendar date (and time) that exists: 20301301 is refused rather than rolled over into January. */
function untilDate(v: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(v);
  if (!m) return false;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1);
  const t = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  return t.getUTCFullYear() === +y && t.getUTCMonth() === +mo - 1 && t.getUTCDate() === +d && t.getUTCHours() === +h && t.getUTCMinutes() === +mi && t.getUTCSeconds() === +s;
}

const PARTS: Record<string, Part> = {
  FREQ: { valid: (v) => /^(?:DAILY|WEEKLY|MONTHLY|YEARLY)$/.test(v), list: false, expected: 'DAILY, WEEKLY, MONTHLY or YEARLY (a freeze repeats at most once a day)' },
  INTERVAL: { valid: integer(1, 1000), list: false, expected: 'a whole number from 1 to 1000' },
  COUNT: { valid: integer(1, 10_000), list: false, expected: 'a whole number from 1 to 10000' },
  UNTIL: { valid: untilDate, list: false, expected: 'a date such as 20301231 or 20301231T000000Z' },
  WKST: { valid: (v) => WEEKDAY.test(v), list: false, expected: 'a weekday: MO, TU, WE, TH, FR, SA or SU' },
  BYDAY: { valid: (v) => BYDAY.test(v) && Math.abs(Number(BYDAY.exec(v)![1] ?? 1)) >= 1, list: true, expected: 'weekdays such as SA, or 1MO and -1FR by month or year' },
  BYMONTH: { valid: integer(1, 12), list: true, expected: 'months 1 to 12' },
  BYMONTHDAY: { valid: integer(1, 31, true), list: true, expected: 'days 1 to 31 or -31 to -1' },
  BYHOUR: { valid: integer(0, 23), list: false, expected: 'one hour, 0 to 23 (a freeze repeats at most once a day: add a window per time of day)' },
  BYMINUTE: { valid: integer(0, 59), list: false, expected: 'one minute, 0 to 59' },
  BYSECOND: { valid: integer(0, 59), list: false, expected: 'one second, 0 to 59' },
};
const UNSUPPORTED = new Set(['BYSETPOS', 'BYYEARDAY', 'BYWEEKNO']);

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_DURATION_MS = 366 * DAY_MS;
/** Days in each month in a leap year: the most any year gives it. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Long enough to meet a 29 February that falls on a given weekday (a 28-year cycle). */
const SAMPLE_YEARS = 29;
const SAMPLE = 60;

/** The rule's text as the library reads it: upper case, without an `RRULE:` prefix. */
export const normalizeRule = (rule: string) => rule.trim().replace(/^RRULE:/i, '').toUpperCase();

const rule = (message: string): RuleProblem => ({ field: 'rrule', message });

/**
 * Why a recurring freeze window cannot be accepted, or undefined. `firstLocal`
 * is the first occurrence's wall-clock time (floating ms) when the caller
 * gives one; it only moves the sample the overlap check looks at.
 */
export function freezeRuleProblem(text: string, duration: IsoDuration, firstLocal = Date.UTC(2001, 0, 1)): RuleProblem | undefined {
  const parts = new Map<string, string[]>();
  for (const part of normalizeRule(text).split(';')) {
    const [key, value, extra] = part.split('=');
    if (!key || !value || extra !== undefined) return rule(`"${part}" is not a NAME=VALUE rule part`);
    if (key === 'DTSTART' || key === 'TZID') return rule('give the first occurrence in "start" and the time zone in "timezone", not in the rule');
    if (UNSUPPORTED.has(key)) return rule(`${key} is not supported for freeze windows; use BYMONTH, BYMONTHDAY and BYDAY`);
    const spec = PARTS[key];
    if (!spec) return rule(`${key} is not an RFC 5545 rule part a freeze window takes (${Object.keys(PARTS).join(', ')})`);
    if (parts.has(key)) return rule(`${key} is given twice`);
    const values = value.split(',');
    if ((!spec.list && values.length > 1) || !values.every(spec.valid)) return rule(`${key} must be ${spec.expected}`);
    parts.set(key, values);
  }
  const freq = parts.get('FREQ')?.[0] as Freq | undefined;
  if (!freq) return rule('the rule needs a FREQ');
  const matching = matchProblem(freq, parts);
  if (matching) return rule(matching);

  const nominal = ((duration.weeks * 7 + duration.days) * 24 + duration.hours) * HOUR_MS + (duration.minutes * 60 + duration.seconds) * 1000;
  if (nominal > MAX_DURATION_MS) return { field: 'duration', message: 'must be at most a year (P366D)' };
  return overlapProblem(normalizeRule(text), nominal, firstLocal);
}

/** Whether some date matches the rule, decided from its parts (see the file's comment for why not by searching). */
function matchProblem(freq: Freq, parts: Map<string, string[]>): string | undefined {
  if (parts.has('COUNT') && parts.has('UNTIL')) return 'give COUNT or UNTIL, not both';
  const byMonth = (parts.get('BYMONTH') ?? []).map(Number);
  const monthDays = (parts.get('BYMONTHDAY') ?? []).map(Number);
  const days = (parts.get('BYDAY') ?? []).map((d) => BYDAY.exec(d)!);
  const numbered = days.filter((d) => d[1] !== undefined).map((d) => Math.abs(Number(d[1])));
  const interval = Number(parts.get('INTERVAL')?.[0] ?? 1);

  if (monthDays.length && (freq === 'DAILY' || freq === 'WEEKLY')) return 'BYMONTHDAY goes with FREQ=MONTHLY or YEARLY';
  if (numbered.length) {
    if (freq === 'DAILY' || freq === 'WEEKLY') return 'a numbered weekday (1MO, -1FR) goes with FREQ=MONTHLY or YEARLY; use plain weekdays here';
    if (monthDays.length) return 'a numbered weekday (1MO, -1FR) cannot be combined with BYMONTHDAY: no date need match both';
    const withinMonth = freq === 'MONTHLY' || byMonth.length > 0;
    if (Math.max(...numbered) > (withinMonth ? 5 : 53)) return `a numbered weekday counts at most ${withinMonth ? '5 within a month' : '53 within a year'}`;
  }
  const months = byMonth.length ? byMonth : MONTH_DAYS.map((_, i) => i + 1);
  if (monthDays.length && !months.some((m) => monthDays.some((d) => Math.abs(d) <= MONTH_DAYS[m - 1]))) return 'no month it names has the days it names';
  if (interval > 1) {
    // Every INTERVAL-th period from the first must still reach a matching date, whatever the first is.
    const why = 'with INTERVAL above 1 a rule may skip every period that matches';
    if (byMonth.length) return `BYMONTH cannot be combined with INTERVAL: ${why}`;
    if (freq === 'DAILY' && days.length) return `BYDAY cannot be combined with FREQ=DAILY;INTERVAL: ${why}; use FREQ=WEEKLY`;
    if (monthDays.length && days.length) return `BYMONTHDAY and BYDAY cannot be combined with INTERVAL: ${why}`;
    if (monthDays.some((d) => Math.abs(d) > 28)) return `days beyond the 28th (or -28th) cannot be combined with INTERVAL: ${why}`;
    if (numbered.some((n) => n > 4)) return `a fifth (or later) weekday cannot be combined with INTERVAL: ${why}`;
  }
  return undefined;
}

/** Occurrences at most once a day, each ending before the next, checked on a sample of them in wall-clock time (so DST does not count). */
function overlapProblem(body: string, nominalMs: number, firstLocal: number): RuleProblem | undefined {
  let sample: Date[];
  try {
    const dtstart = new Date(firstLocal);
    const until = new Date(Date.UTC(dtstart.getUTCFullYear() + SAMPLE_YEARS, 0, 1));
    sample = new RRule({ ...RRule.parseString(body), dtstart, count: undefined, until, tzid: undefined }).all((_d, i) => i < SAMPLE);
  } catch (err) {
    return rule(`not a valid RFC 5545 RRULE: ${(err as Error).message}`);
  }
  const gaps = sample.slice(1).map((d, i) => d.getTime() - sample[i].getTime());
  if (gaps.length === 0) return undefined;
  const shortest = Math.min(...gaps);
  if (shortest < DAY_MS) return rule('occurrences are less than a day apart: a freeze repeats at most once a day');
  // Touching occurrences make a freeze that never ends (a one-off window says that), and every read would walk the chain.
  if (nominalMs >= shortest) {
    return { field: 'duration', message: `must be shorter than the ${shortest / HOUR_MS} hours between two occurrences, or they would overlap or touch; use a shorter duration or a sparser rule` };
  }
  return undefined;
}

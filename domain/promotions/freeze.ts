import { RRule } from 'rrule';
import { addIsoDuration, maxLengthMs, parseIsoDuration } from '../iso-duration';
import { floatingToWallClock, instantOf, isValidTimeZone, wallClockAt, wallClockToFloating } from '../time-zone';

/**
 * Freeze windows: one-off (`start`/`end`) or recurring (an RFC 5545 RRULE in an
 * IANA time zone with an ISO 8601 duration). Recurrences are expanded in local
 * wall-clock time by the `rrule` library and only then turned into instants, so
 * "every Saturday at 00:00 Europe/Berlin" stays at local midnight across DST.
 */
export interface FreezeWindow {
  id: string;
  name: string;
  reason?: string | null;
  exemptReleaseClasses: string[];
  start?: string | null;
  end?: string | null;
  rrule?: string | null;
  timezone?: string | null;
  duration?: string | null;
  /** First occurrence of a recurring window (its local time of day); defaults to local midnight of `createdAt`. */
  createdAt: string;
}

export interface FreezeSpan {
  windowId: string;
  name: string;
  reason: string | null;
  start: string;
  end: string;
}

const MAX_CHAIN = 50;
const LOOKAHEAD_MS = 5 * 366 * 86_400_000;

/** Why a recurring definition cannot be used, or undefined when it can. */
export function recurrenceProblem(rule: string, timezone: string, duration: string): { field: string; message: string } | undefined {
  if (!isValidTimeZone(timezone)) return { field: 'timezone', message: `"${timezone}" is not an IANA time zone` };
  if (!parseIsoDuration(duration)) return { field: 'duration', message: 'must be an ISO 8601 duration such as PT48H or P2D' };
  try {
    const body = rule.replace(/^RRULE:/i, '');
    if (/(^|;)(DTSTART|TZID|UNTIL)=/i.test(body) && /(DTSTART|TZID)/i.test(body)) return { field: 'rrule', message: 'give the time zone in "timezone", not in the rule' };
    const options = RRule.parseString(body);
    if (options.freq === undefined) return { field: 'rrule', message: 'the rule needs a FREQ' };
  } catch (err) {
    return { field: 'rrule', message: `not a valid RFC 5545 RRULE: ${(err as Error).message}` };
  }
  return undefined;
}

function recurring(w: FreezeWindow) {
  const tz = w.timezone ?? 'UTC';
  const duration = parseIsoDuration(w.duration ?? '');
  if (!w.rrule || !duration) return undefined;
  const firstMs = w.start ? Date.parse(w.start) : startOfLocalDay(Date.parse(w.createdAt), tz);
  const dtstart = new Date(wallClockToFloating(wallClockAt(firstMs, tz)));
  const rule = new RRule({ ...RRule.parseString(w.rrule.replace(/^RRULE:/i, '')), dtstart, tzid: undefined });
  const toSpan = (floating: Date): FreezeSpan => {
    const start = instantOf(floatingToWallClock(floating.getTime()), tz);
    return span(w, start, addIsoDuration(start, duration, tz));
  };
  return { tz, rule, toSpan, maxLength: maxLengthMs(duration) };
}

function startOfLocalDay(ms: number, tz: string): number {
  const w = wallClockAt(ms, tz);
  return instantOf({ ...w, hour: 0, minute: 0, second: 0 }, tz);
}

function span(w: FreezeWindow, start: number, end: number): FreezeSpan {
  return { windowId: w.id, name: w.name, reason: w.reason ?? null, start: new Date(start).toISOString(), end: new Date(end).toISOString() };
}

/** The occurrences of one window that overlap [from, to). */
export function occurrences(w: FreezeWindow, fromMs: number, toMs: number): FreezeSpan[] {
  if (w.start && w.end && !w.rrule) {
    const [s, e] = [Date.parse(w.start), Date.parse(w.end)];
    return s < toMs && e > fromMs ? [span(w, s, e)] : [];
  }
  const r = recurring(w);
  if (!r) return [];
  // Expand in floating local time with a day of slack on each side for the zone's offset.
  const lo = new Date(wallClockToFloating(wallClockAt(fromMs - r.maxLength, r.tz)) - 86_400_000);
  const hi = new Date(wallClockToFloating(wallClockAt(toMs, r.tz)) + 86_400_000);
  return r.rule
    .between(lo, hi, true)
    .map(r.toSpan)
    .filter((s) => Date.parse(s.start) < toMs && Date.parse(s.end) > fromMs);
}

/** The first occurrence of a window starting after `afterMs`. */
function nextOccurrence(w: FreezeWindow, afterMs: number): FreezeSpan | undefined {
  if (w.start && w.end && !w.rrule) return Date.parse(w.start) > afterMs ? span(w, Date.parse(w.start), Date.parse(w.end)) : undefined;
  const r = recurring(w);
  if (!r) return undefined;
  let cursor = new Date(wallClockToFloating(wallClockAt(afterMs, r.tz)) - 86_400_000);
  for (let i = 0; i < 10; i++) {
    const next = r.rule.after(cursor, false);
    if (!next) return undefined;
    const s = r.toSpan(next);
    if (Date.parse(s.start) > afterMs) return s;
    cursor = next;
  }
  return undefined;
}

export interface FreezeStatus {
  /** The freeze in force now for this release class (merged across back-to-back windows), or null. */
  active: FreezeSpan | null;
  /** The next freeze that starts later (for any class not exempt). */
  next: FreezeSpan | null;
}

const appliesTo = (w: FreezeWindow, releaseClass: string | undefined) => !releaseClass || !w.exemptReleaseClasses.includes(releaseClass);

/** Whether a freeze holds deployments of `releaseClass` at `nowMs`, until when, and what comes next. */
export function freezeStatus(windows: readonly FreezeWindow[], nowMs: number, releaseClass?: string): FreezeStatus {
  const relevant = windows.filter((w) => appliesTo(w, releaseClass));
  let active: FreezeSpan | null = null;
  // The chain stops past the lookahead: expanding a recurring rule at a far instant walks every occurrence
  // from its start (a window stored before ends were bounded, ending in 2900, took seconds per read).
  for (let i = 0, at = nowMs; i < MAX_CHAIN && at - nowMs < LOOKAHEAD_MS; i++) {
    const covering = relevant.flatMap((w) => occurrences(w, at, at + 1)).sort((a, b) => Date.parse(b.end) - Date.parse(a.end))[0];
    if (!covering) break;
    const merged: FreezeSpan = active === null ? covering : { ...(active as FreezeSpan), end: covering.end };
    active = merged;
    // A window that begins exactly as this one ends extends the freeze.
    at = Date.parse(covering.end);
  }
  const from = active ? Date.parse(active.end) - 1 : nowMs;
  // Nothing after a freeze that outlasts the lookahead is reported (and the rules are not walked out to it).
  const next = from - nowMs >= LOOKAHEAD_MS ? null : firstStart(relevant, from, nowMs);
  return { active, next };
}

function firstStart(windows: readonly FreezeWindow[], from: number, nowMs: number): FreezeSpan | null {
  return (
    windows
      .map((w) => nextOccurrence(w, from))
      .filter((s): s is FreezeSpan => s !== undefined && Date.parse(s.start) - nowMs < LOOKAHEAD_MS)
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start))[0] ?? null
  );
}

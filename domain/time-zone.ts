/**
 * Wall-clock ↔ instant conversion for IANA time zones through Intl (no I/O,
 * deterministic for a given tz database), so recurring freeze windows open at
 * local midnight on both sides of a DST change.
 */
export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function wallClockAt(instantMs: number, timeZone: string): WallClock {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(instantMs)).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

export function wallClockToFloating(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

export function floatingToWallClock(ms: number): WallClock {
  const d = new Date(ms);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/** The zone's offset from UTC at an instant, in ms. */
export function offsetAt(instantMs: number, timeZone: string): number {
  const rounded = Math.floor(instantMs / 1000) * 1000;
  return wallClockToFloating(wallClockAt(rounded, timeZone)) - rounded;
}

/**
 * The instant a wall-clock time names in a zone. A time that falls in a
 * spring-forward gap moves forward by the gap (as RFC 5545 §3.3.5 asks); an
 * ambiguous fall-back time takes its first occurrence.
 */
export function instantOf(w: WallClock, timeZone: string): number {
  const floating = wallClockToFloating(w);
  const first = floating - offsetAt(floating, timeZone);
  const second = floating - offsetAt(first, timeZone);
  if (first === second) return first;
  const candidates = [first, second].filter((t) => wallClockToFloating(wallClockAt(t, timeZone)) === floating).sort((a, b) => a - b);
  return candidates[0] ?? Math.max(first, second);
}

import { addCounted, countedMs } from './business-hours';
import type { IncidentSla, IncidentState, Priority, SlaClockState } from './model';
import { calendarFor, type SlaPolicy } from './sla-policy';

/**
 * The SLA clock of one incident, worked out from its timeline: every state or
 * priority it has had and since when. Two targets run on it:
 * - response: counts while the incident is new, and is met when it first leaves new;
 * - resolution: counts while new, in_progress or reopened, pauses on hold,
 *   stops when resolved, closed or cancelled, and resumes when reopened.
 * A target is the current priority's, against all the time counted so far, so
 * a priority change moves the breach time but keeps the elapsed time, and a
 * pause moves it out by the time paused. Pure: `now` comes in.
 */

/** One moment of the incident's timeline, stamped with the incident version that produced it. */
export interface SlaEvent {
  version: number;
  state: IncidentState;
  priority: Priority;
  at: string;
}

export type SlaTargetKind = 'response' | 'resolution';

export interface TargetClock {
  kind: SlaTargetKind;
  /** The current priority's target. */
  target_ms: number;
  elapsed_ms: number;
  running: boolean;
  /** When the target is (or would have been, had it kept running) breached. */
  due_at: number;
  warn_at: number;
  warned_at: number | null;
  breached_at: number | null;
}

export interface SlaClock {
  state: IncidentState;
  priority: Priority;
  /** The resolution clock: running, paused (on hold) or stopped. */
  clock: SlaClockState;
  response: TargetClock;
  resolution: TargetClock;
}

/** A fact the clock records once and for good: a target's warning or its breach (row, audit entry, notification). */
export type SlaFact = 'response_warning' | 'response_breach' | 'resolution_warning' | 'resolution_breach';

const RESOLUTION_COUNTS: ReadonlySet<IncidentState> = new Set(['new', 'in_progress', 'reopened']);

/** Sorted by version, one entry per version: the merge of every signal received, in any order. */
export function mergeTimeline(known: readonly SlaEvent[], incoming: readonly SlaEvent[]): SlaEvent[] {
  const byVersion = new Map<number, SlaEvent>();
  for (const e of [...known, ...incoming]) if (!byVersion.has(e.version)) byVersion.set(e.version, e);
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

export function slaClock(timeline: readonly SlaEvent[], policy: SlaPolicy, now: number): SlaClock {
  if (timeline.length === 0) throw new Error('an SLA clock needs at least one event');
  const last = timeline[timeline.length - 1];
  const resolutionState: SlaClockState = RESOLUTION_COUNTS.has(last.state) ? 'running' : last.state === 'on_hold' ? 'paused' : 'stopped';
  return {
    state: last.state,
    priority: last.priority,
    clock: resolutionState,
    response: targetClock('response', timeline, policy, now),
    resolution: targetClock('resolution', timeline, policy, now),
  };
}

function targetClock(kind: SlaTargetKind, timeline: readonly SlaEvent[], policy: SlaPolicy, now: number): TargetClock {
  const targets = kind === 'response' ? policy.response_ms : policy.resolution_ms;
  let elapsed = 0;
  let warnedAt: number | null = null;
  let breachedAt: number | null = null;
  let responded = false;
  // Where the projection starts from: the last event while counting, or the moment counting stopped.
  let anchor = { at: Date.parse(timeline[0].at), elapsed: 0 };
  let previousAt = -Infinity;
  let counting = false;

  for (const [i, event] of timeline.entries()) {
    // A clock never runs backwards, whatever the senders' clocks say.
    const start = Math.max(Date.parse(event.at), previousAt);
    previousAt = start;
    const end = Math.max(start, i + 1 < timeline.length ? Date.parse(timeline[i + 1].at) : now);
    if (kind === 'response' && event.state !== 'new') responded = true;
    const wasCounting = counting;
    counting = kind === 'response' ? !responded : RESOLUTION_COUNTS.has(event.state);
    if (!counting) {
      if (wasCounting) anchor = { at: start, elapsed };
      continue;
    }
    anchor = { at: start, elapsed };
    const target = targets[event.priority];
    const warnAfter = Math.round(target * policy.warning_ratio);
    const calendar = calendarFor(policy, event.priority);
    if (warnedAt === null && elapsed >= warnAfter) warnedAt = start;
    if (breachedAt === null && elapsed >= target) breachedAt = start;
    if (warnedAt === null) {
      const at = addCounted(start, warnAfter - elapsed, calendar);
      if (at <= end) warnedAt = at;
    }
    if (breachedAt === null) {
      const at = addCounted(start, target - elapsed, calendar);
      if (at <= end) breachedAt = at;
    }
    elapsed += countedMs(start, end, calendar);
  }

  const current = timeline[timeline.length - 1];
  const target = targets[current.priority];
  const calendar = calendarFor(policy, current.priority);
  const project = (amount: number) => addCounted(anchor.at, amount - anchor.elapsed, calendar);
  return {
    kind,
    target_ms: target,
    elapsed_ms: elapsed,
    running: counting,
    due_at: breachedAt ?? project(target),
    warn_at: warnedAt ?? project(Math.round(target * policy.warning_ratio)),
    warned_at: warnedAt,
    breached_at: breachedAt,
  };
}

/** The moments the workflow must wake up for: the next warning and breach of each running target. */
export function nextWakeUp(clock: SlaClock): { at: number; what: string } | undefined {
  const pending: { at: number; what: string }[] = [];
  for (const target of [clock.response, clock.resolution]) {
    if (!target.running) continue;
    if (target.warned_at === null) pending.push({ at: target.warn_at, what: `${target.kind} SLA warning` });
    if (target.breached_at === null) pending.push({ at: target.due_at, what: `${target.kind} SLA breach` });
  }
  return pending.sort((a, b) => a.at - b.at)[0];
}

/** The warnings and breaches a clock has reached. */
export function factsOf(clock: SlaClock): SlaFact[] {
  const facts: SlaFact[] = [];
  if (clock.response.warned_at !== null) facts.push('response_warning');
  if (clock.response.breached_at !== null) facts.push('response_breach');
  if (clock.resolution.warned_at !== null) facts.push('resolution_warning');
  if (clock.resolution.breached_at !== null) facts.push('resolution_breach');
  return facts;
}

/** The clock as served on the incident, given the facts recorded so far. */
export function slaSnapshot(clock: SlaClock, facts: ReadonlySet<SlaFact>, now: number): IncidentSla {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    clock: clock.clock,
    response_due_at: iso(clock.response.due_at),
    response_breached: facts.has('response_breach'),
    resolution_due_at: iso(clock.resolution.due_at),
    resolution_breached: facts.has('resolution_breach'),
    warned: facts.has('response_warning') || facts.has('resolution_warning'),
    computed_at: iso(now),
  };
}

/**
 * The clock right after a write, worked out by the writer from the whole
 * timeline so its answer is current (the workflow recomputes the same from the
 * same rule). What was already served stays: a recorded warning or breach is
 * never taken back.
 */
export function slaAfterWrite(timeline: readonly SlaEvent[], policy: SlaPolicy, now: number, previous: IncidentSla | null): IncidentSla {
  const clock = slaClock(timeline, policy, now);
  const facts = new Set(factsOf(clock));
  if (previous?.response_breached) facts.add('response_breach');
  if (previous?.resolution_breached) facts.add('resolution_breach');
  const snapshot = slaSnapshot(clock, facts, now);
  return { ...snapshot, warned: snapshot.warned || (previous?.warned ?? false) };
}

/** "2h 5m", "45s": how a span reads in the Temporal UI. */
export function humanSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', !d && !h && s % 60 ? `${s % 60}s` : ''].filter(Boolean);
  return parts.length ? parts.slice(0, 2).join(' ') : '0s';
}

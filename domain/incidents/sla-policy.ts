import { parseDuration } from '../duration';
import type { BusinessHours } from './business-hours';
import { PRIORITIES, type Priority } from './model';

/**
 * The SLA policy: how long an incident of each priority may wait for a first
 * response and for its resolution, when to warn, and (optionally) which
 * priorities count business hours only. Comes from configuration
 * (INCIDENT_SLA_*) and travels with every clock signal, so a policy change
 * applies to an open incident at its next state change.
 */
export interface SlaPolicy {
  response_ms: Record<Priority, number>;
  resolution_ms: Record<Priority, number>;
  /** Fraction of a target at which a warning is recorded, 0 < ratio < 1. */
  warning_ratio: number;
  business_hours: (BusinessHours & { priorities: Priority[] }) | null;
}

const HOUR = 3_600_000;

export const DEFAULT_RESPONSE_TARGETS: Record<Priority, number> = { P1: 15 * 60_000, P2: HOUR, P3: 8 * HOUR, P4: 24 * HOUR };
export const DEFAULT_RESOLUTION_TARGETS: Record<Priority, number> = { P1: 4 * HOUR, P2: 8 * HOUR, P3: 72 * HOUR, P4: 120 * HOUR };
export const DEFAULT_WARNING_RATIO = 0.75;

export const DEFAULT_SLA_POLICY: SlaPolicy = {
  response_ms: DEFAULT_RESPONSE_TARGETS,
  resolution_ms: DEFAULT_RESOLUTION_TARGETS,
  warning_ratio: DEFAULT_WARNING_RATIO,
  business_hours: null,
};

/** The calendar a priority's clock counts in (none: around the clock). */
export function calendarFor(policy: SlaPolicy, priority: Priority): BusinessHours | null {
  const hours = policy.business_hours;
  return hours && hours.priorities.includes(priority) ? hours : null;
}

/**
 * Reads "P1=4h,P2=8h,P3=3d,P4=5d"; priorities not named keep `defaults`.
 * Undefined when the text does not parse or a duration is not positive.
 */
export function parseSlaTargets(text: string, defaults: Record<Priority, number>): Record<Priority, number> | undefined {
  const targets = { ...defaults };
  const entries = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return undefined;
  for (const entry of entries) {
    const [name, value] = entry.split('=').map((s) => s.trim());
    const priority = name?.toUpperCase() as Priority;
    const ms = value === undefined ? undefined : parseDuration(value);
    if (!PRIORITIES.includes(priority) || ms === undefined || ms <= 0) return undefined;
    targets[priority] = ms;
  }
  return targets;
}

/** Reads "P3,P4" (or "all"). */
export function parsePriorityList(text: string): Priority[] | undefined {
  if (text.trim().toLowerCase() === 'all') return [...PRIORITIES];
  const list = text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (list.length === 0 || list.some((p) => !PRIORITIES.includes(p as Priority))) return undefined;
  return [...new Set(list)] as Priority[];
}

import type { IntegrationKind } from './types';

/**
 * Which of Tollgate's events a notifier integration is subscribed to: an
 * explicit opt-in on the integration (none by default), so a tenant sets a
 * channel up once and every event it names reaches it. The names are the
 * incident notification reasons under `incident.` (the X-Tollgate-Event a
 * receiver already sees); `incident.*` takes them all.
 */

// The incidents module's notification reasons (domain/incidents/notifications.ts), named here since modules import no other
// module; test/unit/notifier-events.test.ts checks both lists agree.
export const INCIDENT_REASONS = ['created', 'updated', 'response_warning', 'response_breach', 'resolution_warning', 'resolution_breach'] as const;

export const SUBSCRIBABLE_EVENTS = [...INCIDENT_REASONS.map((r) => `incident.${r}` as const), 'incident.*'] as const;
export const MAX_EVENTS = SUBSCRIBABLE_EVENTS.length;

export const incidentEvent = (reason: (typeof INCIDENT_REASONS)[number]) => `incident.${reason}`;

/** The patterns an integration subscribed to `event` has in its list: the name itself or its family's wildcard. */
export function patternsMatching(event: string): string[] {
  const family = event.slice(0, event.indexOf('.') + 1);
  return family ? [event, `${family}*`] : [event];
}

export interface EventProblem {
  field: string;
  code: 'invalid_value';
  message: string;
}

/** The list as stored (each name once, in the order given), or every problem with it. */
export function checkEvents(kind: IntegrationKind, events: readonly string[]): { ok: true; value: string[] } | { ok: false; problems: EventProblem[] } {
  const problems: EventProblem[] = [];
  if (events.length && kind !== 'notifier') {
    problems.push({ field: 'events', code: 'invalid_value', message: `only notifier integrations take events; this type is a ${kind}` });
  }
  events.forEach((e, i) => {
    if (!(SUBSCRIBABLE_EVENTS as readonly string[]).includes(e)) problems.push({ field: `events.${i}`, code: 'invalid_value', message: `is not an event; known: ${SUBSCRIBABLE_EVENTS.join(', ')}` });
  });
  return problems.length ? { ok: false, problems } : { ok: true, value: [...new Set(events)] };
}

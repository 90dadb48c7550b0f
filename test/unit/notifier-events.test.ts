import { incidentNotificationId, type NotificationReason } from '../../domain/incidents/notifications';
import { checkEvents, INCIDENT_REASONS, patternsMatching, SUBSCRIBABLE_EVENTS } from '../../domain/integrations/events';

test('every incident notification reason is an event a notifier can subscribe to, with the family wildcard', () => {
  expect(SUBSCRIBABLE_EVENTS).toEqual([
    'incident.created',
    'incident.updated',
    'incident.response_warning',
    'incident.response_breach',
    'incident.resolution_warning',
    'incident.resolution_breach',
    'incident.*',
  ]);
  expect(patternsMatching('incident.response_breach')).toEqual(['incident.response_breach', 'incident.*']);
  // The integrations module names the incidents module's reasons itself: the two lists must agree (both ways, by type).
  const every: Record<NotificationReason, true> = { created: true, updated: true, response_warning: true, response_breach: true, resolution_warning: true, resolution_breach: true };
  const named: readonly NotificationReason[] = INCIDENT_REASONS;
  expect([...named].sort()).toEqual(Object.keys(every).sort());
});

test('checkEvents keeps each known name once and names every problem', () => {
  expect(checkEvents('notifier', ['incident.*', 'incident.created', 'incident.*'])).toEqual({ ok: true, value: ['incident.*', 'incident.created'] });
  expect(checkEvents('notifier', [])).toEqual({ ok: true, value: [] });
  expect(checkEvents('http-gate', [])).toEqual({ ok: true, value: [] });
  const bad = checkEvents('http-gate', ['incident.created', 'Incident.Created', '*']);
  expect(bad.ok).toBe(false);
  expect(!bad.ok && bad.problems.map((p) => p.field)).toEqual(['events', 'events.1', 'events.2']);
});

test('a notification id is the same on every retry: a request’s names its version, an SLA fact happens once', () => {
  expect(incidentNotificationId('INC0000007', 'updated', 3)).toBe('incident:INC0000007:v3:updated');
  expect(incidentNotificationId('INC0000007', 'resolution_breach', 9)).toBe('incident:INC0000007:resolution_breach');
});

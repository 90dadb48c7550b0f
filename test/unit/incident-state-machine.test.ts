import { INCIDENT_STATES } from '../../domain/incidents/model';
import { allowedNextStates, canTransition, isTerminal, transitionAction, TRANSITIONS } from '../../domain/incidents/state-machine';

/** The machine as the spec draws it, edge for edge. */
const SPEC_EDGES = [
  'new → in_progress',
  'in_progress → resolved',
  'resolved → closed',
  'new → cancelled',
  'in_progress → on_hold',
  'on_hold → in_progress',
  'resolved → reopened',
  'reopened → in_progress',
];

test('the transition table has exactly the spec’s edges', () => {
  const edges = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from} → ${to}`));
  expect(edges.sort()).toEqual([...SPEC_EDGES].sort());
  expect(Object.keys(TRANSITIONS).sort()).toEqual([...INCIDENT_STATES].sort());
});

test('closed and cancelled are terminal; every other state has a way on', () => {
  expect(INCIDENT_STATES.filter(isTerminal)).toEqual(['closed', 'cancelled']);
  expect(allowedNextStates('resolved')).toEqual(['closed', 'reopened']);
  expect(canTransition('on_hold', 'resolved')).toBe(false);
  expect(canTransition('reopened', 'in_progress')).toBe(true);
});

test('each edge has its audit action', () => {
  expect(SPEC_EDGES.map((e) => transitionAction(...(e.split(' → ') as [never, never])))).toEqual([
    'incident.start', 'incident.resolve', 'incident.close', 'incident.cancel', 'incident.hold', 'incident.resume', 'incident.reopen', 'incident.start',
  ]);
});

import { CHANGE_STATES, CHANGE_TYPES, type ChangeState, type ChangeType } from '../../domain/changes/model';
import { allowedNextStates, canTransition, isTerminal, TERMINAL_STATES, TRANSITIONS, WINDOW_RELEASED_STATES, WORK_FINISHED_STATES } from '../../domain/changes/state-machine';

/**
 * The machine transcribed independently from the StackFlow spec (and the type
 * rules in its "Standard vs Emergency" note), so the source table is checked
 * against the spec rather than against itself.
 */
const STATES: ChangeState[] = ['draft', 'submitted', 'cab_review', 'scheduled', 'in_progress', 'completed', 'closed', 'cancelled', 'failed', 'rejected', 'post_review'];
const TYPES: ChangeType[] = ['normal', 'standard', 'emergency'];
const ALL = TYPES;

const SPEC_EDGES: Array<[from: ChangeState, to: ChangeState, types: ChangeType[]]> = [
  ['draft', 'submitted', ALL],
  ['draft', 'cancelled', ALL],
  ['submitted', 'cab_review', ['normal']],
  ['submitted', 'scheduled', ['standard', 'emergency']],
  ['cab_review', 'scheduled', ALL],
  ['cab_review', 'rejected', ALL],
  ['rejected', 'draft', ALL],
  ['scheduled', 'in_progress', ALL],
  ['in_progress', 'completed', ALL],
  ['in_progress', 'failed', ALL],
  ['completed', 'closed', ALL],
  ['failed', 'post_review', ALL],
  ['post_review', 'closed', ALL],
];

const legal = (type: ChangeType, from: ChangeState, to: ChangeState) => SPEC_EDGES.some(([f, t, types]) => f === from && t === to && types.includes(type));

const cases = TYPES.flatMap((type) => STATES.flatMap((from) => STATES.map((to) => [type, from, to, legal(type, from, to)] as const)));

test('the model knows exactly the states the spec draws', () => {
  expect([...CHANGE_STATES].sort()).toEqual([...STATES].sort());
  expect([...CHANGE_TYPES].sort()).toEqual([...TYPES].sort());
  expect(Object.keys(TRANSITIONS).sort()).toEqual([...STATES].sort());
});

test('the table covers all 363 (type, from, to) combinations', () => {
  expect(cases).toHaveLength(3 * 11 * 11);
  // 11 edges open to every type, plus submitted→cab_review (normal) and submitted→scheduled (standard, emergency).
  expect(cases.filter(([, , , ok]) => ok)).toHaveLength(11 * 3 + 1 + 2);
});

describe.each(TYPES)('%s change', (type) => {
  test.each(cases.filter(([t]) => t === type).map(([, from, to, ok]) => [from, to, ok]))('%s → %s allowed: %s', (from, to, ok) => {
    expect(canTransition({ type, state: from }, to)).toBe(ok);
  });

  test.each(STATES)('allowedNextStates from %s lists exactly the legal targets', (from) => {
    const expected = STATES.filter((to) => legal(type, from, to));
    expect([...allowedNextStates({ type, state: from })].sort()).toEqual(expected.sort());
  });
});

test('no state may transition to itself', () => {
  for (const type of TYPES) for (const s of STATES) expect(canTransition({ type, state: s }, s)).toBe(false);
});

test('only closed and cancelled are terminal', () => {
  expect(STATES.filter(isTerminal).sort()).toEqual(['cancelled', 'closed']);
  expect([...TERMINAL_STATES].sort()).toEqual(['cancelled', 'closed']);
});

test('the work is over once it completes or fails, and a window claims its slot only until then', () => {
  expect([...WORK_FINISHED_STATES].sort()).toEqual(['completed', 'failed', 'post_review']);
  expect(CHANGE_STATES.filter((s) => !WINDOW_RELEASED_STATES.includes(s))).toEqual(['draft', 'submitted', 'cab_review', 'scheduled', 'in_progress']);
});

describe('reachability', () => {
  const reachable = (type: ChangeType) => {
    const seen = new Set<ChangeState>(['draft']);
    const queue: ChangeState[] = ['draft'];
    while (queue.length) for (const next of allowedNextStates({ type, state: queue.shift()! })) if (!seen.has(next)) (seen.add(next), queue.push(next));
    return seen;
  };

  test('a normal change can reach every state', () => {
    expect([...reachable('normal')].sort()).toEqual([...STATES].sort());
  });

  test.each(['standard', 'emergency'] as const)('a %s change never sees CAB review or rejection', (type) => {
    const seen = reachable(type);
    expect(seen.has('cab_review')).toBe(false);
    expect(seen.has('rejected')).toBe(false);
    expect(seen.has('closed')).toBe(true);
    expect(seen.has('post_review')).toBe(true);
  });
});

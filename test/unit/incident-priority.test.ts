import { DEFAULT_PRIORITY_MATRIX, parsePriorityMatrix, priorityFor } from '../../domain/incidents/priority';

test('the default matrix is ITIL’s, P3 when impact or urgency is missing', () => {
  expect(priorityFor('high', 'high')).toBe('P1');
  expect(priorityFor('high', 'medium')).toBe('P2');
  expect(priorityFor('medium', 'high')).toBe('P2');
  expect(priorityFor('medium', 'medium')).toBe('P3');
  expect(priorityFor('low', 'low')).toBe('P4');
  expect(priorityFor('high', null)).toBe('P3');
  expect(priorityFor(undefined, 'high')).toBe('P3');
});

test('a configured matrix overrides the cells it names and keeps the rest', () => {
  const matrix = parsePriorityMatrix('high/medium=P1, low/low = p3')!;
  expect(priorityFor('high', 'medium', matrix)).toBe('P1');
  expect(priorityFor('low', 'low', matrix)).toBe('P3');
  expect(priorityFor('medium', 'medium', matrix)).toBe(DEFAULT_PRIORITY_MATRIX.medium.medium);
});

test.each(['', 'high/high', 'high=P1', 'huge/high=P1', 'high/high=P5', 'high/high=P1;low/low=P4'])('"%s" is not a matrix', (text) => {
  expect(parsePriorityMatrix(text)).toBeUndefined();
});

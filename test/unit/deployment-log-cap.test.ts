import { droppedMarker, headBudget, splitFresh, tailBudget, tailKeepFrom, trimChunk } from '../../domain/deployments/log-cap';

/** The log cap keeps the head and a rolling tail; no cut falls inside a surrogate pair. */
describe('log cap', () => {
  it('gives half the cap to the head and the rest to the tail', () => {
    expect([headBudget(100), tailBudget(100)]).toEqual([50, 50]);
    expect([headBudget(101), tailBudget(101)]).toEqual([50, 51]);
  });

  it('splits new text where the head ends, never between the halves of a surrogate pair', () => {
    expect(splitFresh(0, 'abc', 100)).toEqual({ head: 'abc', tail: '' });
    expect(splitFresh(48, 'abcd', 100)).toEqual({ head: 'ab', tail: 'cd' });
    expect(splitFresh(60, 'abcd', 100)).toEqual({ head: '', tail: 'abcd' });
    // '😀' is two code units; the head's last unit would be its first half: the head takes the whole pair.
    expect(splitFresh(49, '😀x', 100)).toEqual({ head: '😀', tail: 'x' });
  });

  it('keeps the tail to its budget: chunks wholly before it go, the one it falls in is cut, later ones stay', () => {
    expect(tailKeepFrom(212, 100)).toBe(162);
    expect(trimChunk({ offset: 50, data: 'x'.repeat(100) }, 162)).toBeNull();
    expect(trimChunk({ offset: 150, data: 'abcdefghijklmnop' }, 162)).toEqual({ offset: 162, data: 'mnop' });
    expect(trimChunk({ offset: 170, data: 'later' }, 162)).toEqual({ offset: 170, data: 'later' });
    // A cut at the second half of a pair drops the whole pair.
    expect(trimChunk({ offset: 10, data: 'a😀b' }, 12)).toEqual({ offset: 13, data: 'b' });
    expect(trimChunk({ offset: 10, data: 'a😀' }, 12)).toBeNull();
  });

  it('marks what was dropped with a line of its own', () => {
    expect(droppedMarker(151, false)).toBe('\n[tollgate] … 151 characters of this log were dropped here: past DEPLOY_LOG_CAP_BYTES it keeps its head and its tail …\n');
    expect(droppedMarker(1, true)).toBe('[tollgate] … 1 character of this log was dropped here: past DEPLOY_LOG_CAP_BYTES it keeps its head and its tail …\n');
  });
});

import { decisionOf, FixedWindowLimiter, strictest, type RateDecision } from '../../domain/rate-limit';

const WINDOW = 1_000;
// An arbitrary instant in the middle of a window, so boundary arithmetic is visible.
const T0 = 1_700_000_000_250;
const WINDOW_START = T0 - 250;
const WINDOW_END = WINDOW_START + WINDOW;

describe('FixedWindowLimiter', () => {
  test('the first request is allowed and reports the remaining budget and the window end', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    expect(limiter.take('user:a', 3, T0)).toEqual({ allowed: true, limit: 3, remaining: 2, resetAt: WINDOW_END });
  });

  test('counts down to zero, then denies for the rest of the window', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    const decisions = [0, 100, 200, 300, 400].map((dt) => limiter.take('user:a', 3, T0 + dt));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(new Set(decisions.map((d) => d.resetAt))).toEqual(new Set([WINDOW_END]));
  });

  test('windows are aligned to multiples of the window length, not to the first request', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    expect(limiter.take('k', 1, T0).allowed).toBe(true);
    // Still inside the same aligned window, even though less than one window has passed.
    expect(limiter.take('k', 1, WINDOW_END - 1).allowed).toBe(false);
    // Exactly at the boundary a fresh window starts, only 750 ms after the first request.
    expect(limiter.take('k', 1, WINDOW_END)).toEqual({ allowed: true, limit: 1, remaining: 0, resetAt: WINDOW_END + WINDOW });
  });

  test('a new window restores the full budget; denied requests did not consume any of it', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    for (let i = 0; i < 10; i++) limiter.take('k', 2, T0 + i);
    expect(limiter.take('k', 2, T0 + WINDOW)).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.take('k', 2, T0 + WINDOW)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take('k', 2, T0 + WINDOW)).toMatchObject({ allowed: false, remaining: 0 });
  });

  test('keys are counted separately', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    expect(limiter.take('user:a', 1, T0).allowed).toBe(true);
    expect(limiter.take('user:a', 1, T0).allowed).toBe(false);
    expect(limiter.take('user:b', 1, T0)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take('tenant:a', 5, T0)).toMatchObject({ allowed: true, remaining: 4 });
  });

  test('a limit of zero denies everything', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    expect(limiter.take('k', 0, T0)).toEqual({ allowed: false, limit: 0, remaining: 0, resetAt: WINDOW_END });
  });

  test('long idle gaps (which trigger the sweep of stale windows) do not disturb current counts', () => {
    const limiter = new FixedWindowLimiter(WINDOW);
    limiter.take('old', 1, T0);
    const later = T0 + 50 * WINDOW;
    expect(limiter.take('a', 2, later)).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.take('old', 1, later)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take('a', 2, later)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take('a', 2, later).allowed).toBe(false);
    expect(limiter.take('old', 1, later).allowed).toBe(false);
  });

  test('other window lengths', () => {
    const limiter = new FixedWindowLimiter(60_000);
    expect(limiter.take('k', 10, 125_000).resetAt).toBe(180_000);
  });
});

describe('strictest', () => {
  const d = (allowed: boolean, remaining: number, resetAt: number, limit = 10): RateDecision => ({ allowed, limit, remaining, resetAt });

  test('a single decision is returned as is', () => {
    const only = d(true, 4, 1000);
    expect(strictest([only])).toBe(only);
  });

  test('picks the denial over any allowed decision', () => {
    const denied = d(false, 0, 5000, 1000);
    expect(strictest([d(true, 0, 1000), denied, d(true, 3, 2000)])).toBe(denied);
  });

  test('among allowed decisions, picks the one with the fewest remaining', () => {
    const tight = d(true, 1, 1000, 100);
    expect(strictest([d(true, 50, 2000, 1000), tight, d(true, 7, 3000)])).toBe(tight);
  });

  test('ties on remaining go to the later reset, the one the client must wait longest for', () => {
    const later = d(true, 2, 9000);
    expect(strictest([d(true, 2, 1000), later, d(true, 2, 5000)])).toBe(later);
  });

  test('among several denials, picks the later reset', () => {
    const later = d(false, 0, 60_000, 1000);
    expect(strictest([d(false, 0, 1000), later])).toBe(later);
  });
});

describe('decisionOf (a shared window count, this request included)', () => {
  test('allowed up to and including the limit, with what is left of it', () => {
    expect(decisionOf(1, 3, 5_000)).toEqual({ allowed: true, limit: 3, remaining: 2, resetAt: 5_000 });
    expect(decisionOf(3, 3, 5_000)).toEqual({ allowed: true, limit: 3, remaining: 0, resetAt: 5_000 });
  });

  test('past the limit (refused requests keep counting) it denies, never with a negative remainder', () => {
    expect(decisionOf(4, 3, 5_000)).toEqual({ allowed: false, limit: 3, remaining: 0, resetAt: 5_000 });
    expect(decisionOf(400, 3, 5_000)).toMatchObject({ allowed: false, remaining: 0 });
  });

  test("a bulk request's records are its count: one that takes the count past the limit is denied whole", () => {
    expect(decisionOf(20 + 30, 50, 60_000)).toMatchObject({ allowed: true, remaining: 0 });
    expect(decisionOf(20 + 31, 50, 60_000)).toMatchObject({ allowed: false, remaining: 0 });
  });
});

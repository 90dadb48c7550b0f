import { parseDuration } from '../../domain/duration';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['90s', 90 * SECOND],
    ['15m', 15 * MINUTE],
    ['24h', 24 * HOUR],
    ['2d', 2 * DAY],
    ['0s', 0],
  ])('single unit %s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test('"ms" is milliseconds, not minutes followed by a stray "s"', () => {
    expect(parseDuration('5ms')).toBe(5);
    expect(parseDuration('5m')).toBe(5 * MINUTE);
  });

  test.each([
    ['1h30m', HOUR + 30 * MINUTE],
    ['1m30s', 90 * SECOND],
    ['2h0m', 2 * HOUR],
    ['1d2h3m4s5ms', DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5],
    // Units need not be in descending order; each part simply adds.
    ['30m1h', HOUR + 30 * MINUTE],
  ])('compound %s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    ['1.5h', 1.5 * HOUR],
    ['0.5s', 500],
    ['2.5ms', 3], // fractional milliseconds are rounded to a whole number
  ])('decimal %s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    ['0', 0],
    ['250', 250],
    ['86400000', DAY],
  ])('a plain number %s is already milliseconds', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test('surrounding whitespace is ignored', () => {
    expect(parseDuration('  42 ')).toBe(42);
    expect(parseDuration('\t15m\n')).toBe(15 * MINUTE);
  });

  test.each([
    '',
    '   ',
    'abc',
    'soon',
    '10x',
    'h',
    's5',
    '1 h',
    '1h 30m',
    '1h30',
    '1.5',
    '-5s',
    '+5s',
    '5s!',
    '1e3',
    '24 hours',
  ])('invalid %j → undefined', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

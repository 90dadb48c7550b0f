import { ApplicationFailure } from '@temporalio/common';
import { failPermanentDbErrors, permanentDbError, toActivityFailure } from '../../activities/db-failures';

/** What node-postgres throws: an Error with the SQLSTATE in `code`. */
function pgError(code: string, message = 'refused') {
  return Object.assign(new Error(message), { code });
}

describe('permanentDbError', () => {
  test.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00', 'invalid_input', 'UNSTORABLE_VALUE'],
    ['22P05', 'unsupported Unicode escape sequence', 'invalid_input', 'UNSTORABLE_VALUE'],
    ['22008', 'date/time field value out of range', 'invalid_input', 'UNSTORABLE_VALUE'],
    ['22001', 'value too long for type character varying(64)', 'invalid_input', 'UNSTORABLE_VALUE'],
    ['54000', 'string is too long for tsvector', 'invalid_input', 'VALUE_TOO_LARGE'],
    ['23502', 'null value in column "state" violates not-null constraint', 'rule', 'INTEGRITY_VIOLATION'],
    ['23514', 'new row violates check constraint', 'rule', 'INTEGRITY_VIOLATION'],
  ])('SQLSTATE %s (%s) can never succeed: %s, %s', (code, message, kind, type) => {
    expect(permanentDbError(pgError(code, message))).toEqual({ kind, type, sqlstate: code, message: expect.stringContaining(message) });
  });

  test.each([
    ['08006', 'connection failure'],
    ['57P01', 'admin shutdown'],
    ['53300', 'too many connections'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['23505', 'unique violation (a race a retry resolves)'],
    ['23503', 'foreign key violation (the parent may land later)'],
    ['42P01', 'undefined table (a migration not yet applied)'],
  ])('SQLSTATE %s (%s) stays retryable', (code) => {
    expect(permanentDbError(pgError(code))).toBeUndefined();
  });

  test('errors without a SQLSTATE (socket errors, timeouts, bugs) stay retryable', () => {
    expect(permanentDbError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(permanentDbError(new Error('Connection terminated unexpectedly'))).toBeUndefined();
    expect(permanentDbError(new TypeError('x is undefined'))).toBeUndefined();
    expect(permanentDbError(undefined)).toBeUndefined();
  });
});

describe('toActivityFailure', () => {
  test('a permanent refusal becomes a non-retryable ApplicationFailure carrying its kind, as workflow failures do', () => {
    const failure = toActivityFailure(pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'UNSTORABLE_VALUE', nonRetryable: true, details: [{ kind: 'invalid_input', details: { sqlstate: '22021' } }] });
  });

  test('anything else passes through untouched', () => {
    const err = pgError('08006');
    expect(toActivityFailure(err)).toBe(err);
  });
});

describe('failPermanentDbErrors', () => {
  test('wraps every activity and keeps results and retryable errors as they were', async () => {
    const transient = pgError('57P01');
    const activities = failPermanentDbErrors({
      ok: async (n: number) => n * 2,
      refused: async () => {
        throw pgError('22008', 'date/time field value out of range');
      },
      flaky: async () => {
        throw transient;
      },
    });
    await expect(activities.ok(21)).resolves.toBe(42);
    await expect(activities.refused()).rejects.toMatchObject({ type: 'UNSTORABLE_VALUE', nonRetryable: true });
    await expect(activities.flaky()).rejects.toBe(transient);
  });
});

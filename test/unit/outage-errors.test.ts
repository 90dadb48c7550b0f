import { DatabaseError } from 'pg';
import { mapDatabaseError } from '../../api/database-errors';
import { isDatabaseUnavailable } from '../../platform/db';
import { isConnectivityFailure, TemporalUnavailableError } from '../../platform/temporal';

/** Which failures mean "a dependency is down, retry" (503) rather than a bug (500). */

const errno = (code: string, message = `connect ${code} 127.0.0.1:5432`) => Object.assign(new Error(message), { code });
const sqlstate = (code: string, message = 'server error') => Object.assign(new DatabaseError(message, 0, 'error'), { code });

describe('isDatabaseUnavailable', () => {
  test.each([
    ['refused', errno('ECONNREFUSED')],
    ['reset', errno('ECONNRESET', 'read ECONNRESET')],
    ['broken pipe', errno('EPIPE', 'write EPIPE')],
    ['timed out', errno('ETIMEDOUT')],
    ['admin shutdown (57P01)', sqlstate('57P01', 'terminating connection due to administrator command')],
    ['crash shutdown (57P02)', sqlstate('57P02', 'terminating connection because of crash of another server process')],
    ['starting up (57P03)', sqlstate('57P03', 'the database system is starting up')],
    ['too many connections (53300)', sqlstate('53300', 'sorry, too many clients already')],
    ['connection failure (08006)', sqlstate('08006')],
    ['connection does not exist (08003)', sqlstate('08003')],
    ['protocol violation (08P01)', sqlstate('08P01')],
    ['socket closed under a query', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['client already broken', new Error('Client has encountered a connection error and is not queryable')],
  ])('%s → unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  test('a refusal to every address of a host (AggregateError) and a wrapped cause count too', () => {
    const aggregate = Object.assign(new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432')], ''), { code: undefined });
    expect(isDatabaseUnavailable(aggregate)).toBe(true);
    expect(isDatabaseUnavailable(new Error('persisting failed', { cause: errno('ECONNRESET') }))).toBe(true);
  });

  test.each([
    ['a missing table (42P01)', sqlstate('42P01', 'relation "changes" does not exist')],
    ['a unique violation (23505)', sqlstate('23505', 'duplicate key value violates unique constraint')],
    ['bad input (22P05)', sqlstate('22P05', 'unsupported Unicode escape sequence')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error at all', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s → not unavailable', (_name, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});

describe('mapDatabaseError', () => {
  test('a deadlock or serialization failure is a retryable 503 WRITE_CONFLICT, never a 500', () => {
    for (const code of ['40P01', '40001']) {
      const mapped = mapDatabaseError(Object.assign(new Error('deadlock detected'), { code }))!;
      expect(mapped).toMatchObject({ status: 503, code: 'WRITE_CONFLICT' });
    }
  });

  test('an outage is a 503 DATABASE_UNAVAILABLE with Retry-After, in the header and the details', () => {
    const mapped = mapDatabaseError(errno('ECONNREFUSED'))!;
    expect(mapped).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', details: { dependency: 'postgres', retryAfterSeconds: 5 } });
    expect(mapped.headers).toEqual({ 'Retry-After': '5' });
  });

  test('a value too large to store or index (54000, e.g. a tsvector past 1 MB) is a 413, never a 500', () => {
    const mapped = mapDatabaseError(sqlstate('54000', 'string is too long for tsvector (1100000 bytes, max 1048575 bytes)'))!;
    expect(mapped).toMatchObject({ status: 413, code: 'TEXT_TOO_LARGE', details: { reason: expect.stringContaining('tsvector') } });
  });

  test('anything else is left to the other mappings', () => {
    expect(mapDatabaseError(sqlstate('42P01'))).toBeUndefined();
  });
});

describe('isConnectivityFailure (Temporal)', () => {
  // gRPC status codes (grpc/status.proto).
  const grpcStatus = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14 };
  const grpc = (code: number) => Object.assign(new Error(`${code} status`), { code });

  test('unreachable and unavailable calls say the cluster is down', () => {
    expect(isConnectivityFailure(new TemporalUnavailableError('127.0.0.1:1', new Error('connect ECONNREFUSED')))).toBe(true);
    expect(isConnectivityFailure(grpc(grpcStatus.UNAVAILABLE))).toBe(true);
    expect(isConnectivityFailure(new Error('wrapped', { cause: grpc(grpcStatus.UNAVAILABLE) }))).toBe(true);
  });

  test('an answer, even a refusal or a slow one, proves it reachable', () => {
    expect(isConnectivityFailure(grpc(grpcStatus.DEADLINE_EXCEEDED))).toBe(false);
    expect(isConnectivityFailure(grpc(grpcStatus.NOT_FOUND))).toBe(false);
    expect(isConnectivityFailure(grpc(grpcStatus.PERMISSION_DENIED))).toBe(false);
    expect(isConnectivityFailure(new Error('something else'))).toBe(false);
  });
});

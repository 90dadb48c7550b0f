import { keyedUpdateId, requestHash, reuseConflict, type KeyRecord } from '../../api/idempotency';

describe('reuseConflict', () => {
  const first: KeyRecord = { caller_id: 'alice', operation: 'approve', resource_id: 'CHG0000001', request_hash: requestHash({ comment: 'ok' }) };
  const attempt = { caller: 'alice', operation: 'approve', resource: 'CHG0000001', requestHash: requestHash({ comment: 'ok' }) };

  test('the same caller, operation, resource and body is a retry', () => {
    expect(reuseConflict(first, attempt)).toBeUndefined();
  });

  test('anything else names what differs, the caller first', () => {
    expect(reuseConflict(first, { ...attempt, caller: 'bob' })).toBe('caller');
    expect(reuseConflict(first, { ...attempt, caller: 'bob', requestHash: 'x' })).toBe('caller');
    expect(reuseConflict(first, { ...attempt, operation: 'reject' })).toBe('operation');
    expect(reuseConflict(first, { ...attempt, resource: 'CHG0000002' })).toBe('resource');
    expect(reuseConflict(first, { ...attempt, requestHash: requestHash({ comment: 'changed' }) })).toBe('body');
  });

  test('a create names no resource: the one its key allocated is the answer', () => {
    const create: KeyRecord = { ...first, operation: 'create', resource_id: 'CHG0000042' };
    expect(reuseConflict(create, { caller: 'alice', operation: 'create', requestHash: first.request_hash })).toBeUndefined();
    expect(reuseConflict(create, { caller: 'bob', operation: 'create', requestHash: first.request_hash })).toBe('caller');
  });
});

describe('requestHash', () => {
  test('equal bodies hash alike whatever their key order; any difference changes it', () => {
    expect(requestHash({ a: 1, b: { c: [1, 2], d: null } })).toBe(requestHash({ b: { d: null, c: [1, 2] }, a: 1 }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
    expect(requestHash({ c: [1, 2] })).not.toBe(requestHash({ c: [2, 1] }));
    expect(requestHash({ a: null })).not.toBe(requestHash({}));
  });

  test('an absent body hashes as null', () => {
    expect(requestHash(undefined)).toBe(requestHash(null));
    expect(requestHash(undefined)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('keyedUpdateId', () => {
  const parts = { tenant: 'acme', caller: 'alice', operation: 'approve', resource: 'CHG0000001', key: 'k-1' };

  test('is stable for the same request and short whatever the key', () => {
    expect(keyedUpdateId(parts)).toBe(keyedUpdateId({ ...parts }));
    expect(keyedUpdateId({ ...parts, key: 'x'.repeat(255) })).toMatch(/^idem-[A-Za-z0-9_-]{43}$/);
  });

  test('differs when any part differs, so no two callers, operations or resources share an update', () => {
    const ids = new Set(
      [parts, { ...parts, tenant: 'other' }, { ...parts, caller: 'bob' }, { ...parts, operation: 'reject' }, { ...parts, resource: 'CHG0000002' }, { ...parts, key: 'k-2' }].map(
        keyedUpdateId,
      ),
    );
    expect(ids.size).toBe(6);
  });

  test('parts cannot be shifted into one another', () => {
    expect(keyedUpdateId({ ...parts, caller: 'ali', operation: 'ceapprove' })).not.toBe(keyedUpdateId(parts));
    expect(keyedUpdateId({ ...parts, tenant: 'acme:alice', caller: '' })).not.toBe(keyedUpdateId({ ...parts, tenant: 'acme', caller: 'alice' }));
  });
});

import { ApiError } from '../../api/errors';
import { thrown } from '../support/thrown';
import {
  decodeCursor,
  encodeCursor,
  pageRequest,
  parseSort,
  STACKFLOW_DEFAULT_LIMIT,
  STELLA_DEFAULT_PAGE_SIZE,
  STELLA_MAX_PAGE_SIZE,
  type KeysetCursor,
  type SortSpec,
} from '../../api/pagination';

const apiError = (fn: () => unknown) => thrown(ApiError, fn);

const byCreated: SortSpec = { field: 'created_at', direction: 'desc' };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('cursors', () => {
  test.each<KeysetCursor>([
    { sort: 'created_at', direction: 'desc', value: '2026-05-19 10:00:00.123456+00', id: 'CHG0000456' },
    { sort: 'number', direction: 'asc', value: 42, id: 'CHG0000042' },
    { sort: 'assigned_to', direction: 'asc', value: null, id: 'CHG0000001' },
    { sort: 'short_description', direction: 'desc', value: 'Ünïcödé, "quotes" & /slashes/ + =', id: 'id with spaces' },
  ])('round-trips %j', (cursor) => {
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/); // URL-safe without escaping
    expect(decodeCursor(text)).toEqual(cursor);
  });

  test.each([
    ['not base64 at all', '%%%***'],
    ['empty', ''],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['a JSON object', b64({ sort: 'created_at', direction: 'asc', id: 'x' })],
    ['null', b64(null)],
    ['a bad direction', b64(['created_at', 'up', 1, 'x'])],
    ['a numeric id', b64(['created_at', 'asc', 1, 7])],
    ['a missing id', b64(['created_at', 'asc', 1])],
    ['a non-string sort', b64([1, 'asc', 1, 'x'])],
  ])('a garbage cursor (%s) is a 400 INVALID_CURSOR', (_what, text) => {
    const err = apiError(() => decodeCursor(text));
    expect(err).toMatchObject({ status: 400, code: 'INVALID_CURSOR' });
  });

  // The cursor's value is bound into the keyset SQL and cast; an object or array there is bad input and must be a 400, never a database error.
  test.each([
    ['an object', { $gt: 0 }],
    ['an array', [1, 2]],
    ['a boolean', true],
  ])('a cursor whose value is %s (not string, number or null) is a 400 INVALID_CURSOR', (_what, value) => {
    const err = apiError(() => decodeCursor(b64(['created_at', 'asc', value, 'CHG0000001'])));
    expect(err).toMatchObject({ status: 400, code: 'INVALID_CURSOR' });
  });
});

describe('parseSort', () => {
  const allowed = ['created_at', 'number', 'risk_score'];
  const fallback: SortSpec = { field: 'created_at', direction: 'desc' };

  test('no sort → the fallback', () => {
    expect(parseSort({}, allowed, fallback)).toEqual(fallback);
  });

  test('order alone flips the fallback direction', () => {
    expect(parseSort({ order: 'asc' }, allowed, fallback)).toEqual({ field: 'created_at', direction: 'asc' });
  });

  test('a leading "-" means descending', () => {
    expect(parseSort({ sort: '-risk_score' }, allowed, fallback)).toEqual({ field: 'risk_score', direction: 'desc' });
  });

  test('a plain field is ascending unless order=desc', () => {
    expect(parseSort({ sort: 'number' }, allowed, fallback)).toEqual({ field: 'number', direction: 'asc' });
    expect(parseSort({ sort: 'number', order: 'desc' }, allowed, fallback)).toEqual({ field: 'number', direction: 'desc' });
  });

  test('an unknown field is a 400 naming the allowed fields', () => {
    const err = apiError(() => parseSort({ sort: '-password' }, allowed, fallback));
    expect(err.status).toBe(400);
    expect(err.message).toContain('password');
    expect(err.validationErrors).toEqual([expect.objectContaining({ field: 'sort', message: expect.stringContaining('created_at, number, risk_score') })]);
  });

  test('"-" alone or "--field" is not a field', () => {
    expect(apiError(() => parseSort({ sort: '-' }, allowed, fallback)).status).toBe(400);
    expect(apiError(() => parseSort({ sort: '--number' }, allowed, fallback)).status).toBe(400);
  });
});

describe('pageRequest — Stella (page/pageSize)', () => {
  test('defaults to page 1 of 25', () => {
    expect(STELLA_DEFAULT_PAGE_SIZE).toBe(25);
    expect(pageRequest('stella', {}, byCreated)).toEqual({ mode: 'offset', page: 1, pageSize: 25, sort: byCreated });
  });

  test('takes page and pageSize', () => {
    expect(pageRequest('stella', { page: 3, pageSize: 100 }, byCreated)).toEqual({ mode: 'offset', page: 3, pageSize: 100, sort: byCreated });
  });

  test('more than 100 per page is a 400', () => {
    expect(STELLA_MAX_PAGE_SIZE).toBe(100);
    const err = apiError(() => pageRequest('stella', { pageSize: 101 }, byCreated));
    expect(err.status).toBe(400);
    expect(err.validationErrors).toEqual([expect.objectContaining({ field: 'pageSize' })]);
    // limit is a StackFlow name, but a Stella caller sending it gets the same cap.
    expect(apiError(() => pageRequest('stella', { limit: 150 }, byCreated)).status).toBe(400);
  });

  test('a garbage cursor is a 400 INVALID_CURSOR in Stella too (it was ignored, answering 200)', () => {
    const err = apiError(() => pageRequest('stella', { cursor: 'garbage' }, byCreated));
    expect([err.status, err.code]).toEqual([400, 'INVALID_CURSOR']);
  });

  test('a cursor does not switch a Stella request to keyset mode', () => {
    const cursor = encodeCursor({ sort: 'created_at', direction: 'desc', value: 'x', id: 'y' });
    expect(pageRequest('stella', { cursor, page: 2 }, byCreated)).toMatchObject({ mode: 'offset', page: 2 });
  });
});

describe('pageRequest — StackFlow (cursor/limit)', () => {
  test('defaults to the first keyset page of 25', () => {
    expect(STACKFLOW_DEFAULT_LIMIT).toBe(25);
    expect(pageRequest('stackflow', {}, byCreated)).toEqual({ mode: 'keyset', limit: 25, after: undefined, sort: byCreated });
  });

  test('follows a cursor made for the same sort', () => {
    const after: KeysetCursor = { sort: 'created_at', direction: 'desc', value: '2026-05-19 10:00:00+00', id: 'CHG0000456' };
    expect(pageRequest('stackflow', { cursor: encodeCursor(after), limit: 20 }, byCreated)).toEqual({ mode: 'keyset', limit: 20, after, sort: byCreated });
  });

  test('a cursor from another sort field or direction is refused', () => {
    const otherField = encodeCursor({ sort: 'number', direction: 'desc', value: 1, id: 'x' });
    const otherDirection = encodeCursor({ sort: 'created_at', direction: 'asc', value: 'x', id: 'x' });
    expect(apiError(() => pageRequest('stackflow', { cursor: otherField }, byCreated))).toMatchObject({ status: 400, code: 'INVALID_CURSOR' });
    expect(apiError(() => pageRequest('stackflow', { cursor: otherDirection }, byCreated))).toMatchObject({ status: 400, code: 'INVALID_CURSOR' });
  });

  test('a garbage cursor is refused', () => {
    expect(apiError(() => pageRequest('stackflow', { cursor: 'garbage' }, byCreated))).toMatchObject({ status: 400, code: 'INVALID_CURSOR' });
  });

  test('page without a cursor is served by offset, sized by limit', () => {
    expect(pageRequest('stackflow', { page: 2 }, byCreated)).toEqual({ mode: 'offset', page: 2, pageSize: 25, sort: byCreated });
    expect(pageRequest('stackflow', { page: 4, limit: 10 }, byCreated)).toEqual({ mode: 'offset', page: 4, pageSize: 10, sort: byCreated });
  });

  test('a cursor wins over page', () => {
    const cursor = encodeCursor({ sort: 'created_at', direction: 'desc', value: 'v', id: 'i' });
    expect(pageRequest('stackflow', { cursor, page: 2 }, byCreated).mode).toBe('keyset');
  });
});

import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, iso, HOUR } from '../support/changes';

/** Bad input is a clear 400 that names each field, and loses nothing. */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  token = await app.token('alice@example.com');
});
afterAll(() => app.close());

async function rejected(body: unknown, path = '/api/v1/changes', method = 'POST') {
  const res = await app.http(method, path, { token, body });
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('VALIDATION_FAILED');
  return res.body.error.validationErrors as Array<{ field: string; code: string; message: string }>;
}

test('required fields and enums use the spec names', async () => {
  const errors = await rejected({ description: 'no type, no summary' });
  expect(errors.map((e) => e.field).sort()).toEqual(['short_description', 'type']);
  expect(await rejected({ type: 'urgent', short_description: 'x' })).toEqual([{ field: 'type', code: 'invalid_value', message: expect.stringContaining('normal') }]);
  expect((await rejected({ type: 'normal', short_description: 'x', risk: 'extreme' }))[0].field).toBe('risk');
  expect((await rejected({ type: 'normal', short_description: 'x'.repeat(256) }))[0]).toMatchObject({ field: 'short_description', code: 'too_big' });
});

test('read-only fields are refused as read_only, unknown ones as unknown_field', async () => {
  const errors = await rejected({ ...auroraChange(), id: 'CHG0000001', state: 'scheduled', risk_score: 1, created_at: iso(0), colour: 'blue' });
  expect(errors).toEqual(
    expect.arrayContaining([
      { field: 'id', code: 'read_only', message: expect.any(String) },
      { field: 'state', code: 'read_only', message: expect.any(String) },
      { field: 'risk_score', code: 'read_only', message: expect.any(String) },
      { field: 'created_at', code: 'read_only', message: expect.any(String) },
      { field: 'colour', code: 'unknown_field', message: expect.any(String) },
    ]),
  );
});

test('timestamps must be ISO 8601 with a zone; a window is both ends and ends after it starts', async () => {
  expect((await rejected({ ...auroraChange(), scheduled_start: 'tomorrow' }))[0].field).toBe('scheduled_start');
  expect((await rejected({ ...auroraChange(), scheduled_start: '2026-05-22T01:00:00' }))[0].field).toBe('scheduled_start');
  expect(await rejected({ ...auroraChange(), scheduled_end: undefined })).toEqual([expect.objectContaining({ code: 'incomplete_window' })]);
  expect(await rejected({ ...auroraChange(), scheduled_start: iso(2 * HOUR), scheduled_end: iso(HOUR) })).toEqual([
    expect.objectContaining({ field: 'scheduled_end', code: 'invalid_window' }),
  ]);
});

test('emails are validated in cab_approvers', async () => {
  expect((await rejected({ ...auroraChange(), cab_approvers: ['not-an-email'] }))[0].field).toBe('cab_approvers.0');
});

test('nothing is created by a refused request', async () => {
  const before = (await app.http('GET', '/prod/api/changes', { token })).body.total;
  await rejected({ type: 'normal' });
  expect((await app.http('GET', '/prod/api/changes', { token })).body.total).toBe(before);
});

test('PATCH: empty bodies, unknown fields and bad states are 400; a merged window still has to make sense (422 against the stored end)', async () => {
  const change = await createChange(app, token, auroraChange());
  await rejected({}, `/prod/api/changes/${change.id}`, 'PATCH');
  await rejected({ state: 'archived' }, `/prod/api/changes/${change.id}`, 'PATCH');
  await rejected({ risk_score: 3 }, `/prod/api/changes/${change.id}`, 'PATCH');
  const res = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token, body: { scheduled_end: iso(-2 * HOUR) } });
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe('INVALID_WINDOW');
  const both = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token, body: { scheduled_start: iso(2 * HOUR), scheduled_end: iso(HOUR) } });
  expect(both.status).toBe(400);
  const actual = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token, body: { actual_start: iso(0) } });
  expect(actual.status).toBe(400);
  expect(actual.body.error.code).toBe('ACTUAL_START_WITHOUT_START');
});

test('command bodies: reject needs a reason, review needs outcome and notes', async () => {
  const change = await createChange(app, token, auroraChange());
  expect((await rejected({}, `/api/v1/changes/${change.id}/reject`))[0].field).toBe('reason');
  expect((await rejected({ outcome: 'fine' }, `/api/v1/changes/${change.id}/review`)).map((e) => e.field).sort()).toEqual(['notes', 'outcome']);
});

test('ids that cannot exist are 404 without touching Temporal; a bad Idempotency-Key is 400', async () => {
  expect((await app.http('GET', '/prod/api/changes/CHG9999999', { token })).status).toBe(404);
  expect((await app.http('POST', '/prod/api/changes/not-a-change/approve', { token, body: {} })).status).toBe(404);
  const change = await createChange(app, token, auroraChange());
  const res = await app.http('PATCH', `/prod/api/changes/${change.id}`, { token, body: { assigned_to: 'x@example.com' }, headers: { 'idempotency-key': 'has spaces in it' } });
  expect(res.status).toBe(400);
  expect(res.body.error.validation_errors[0].field).toBe('Idempotency-Key');
});

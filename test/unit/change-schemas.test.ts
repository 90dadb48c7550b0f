import type { ZodType } from 'zod';
import { createChangeSchema, patchChangeSchema, rejectSchema, reviewSchema, submitCabSchema } from '../../domain/changes/requests';

/** The issues a schema reports, reduced to what a caller sees: path and code. */
function issuesOf(schema: ZodType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.error.issues.map((i) => ({ path: i.path.join('.'), code: i.code, message: i.message, keys: 'keys' in i ? i.keys : undefined }));
}
function parsed<T>(schema: ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(`expected ${JSON.stringify(input)} to parse: ${JSON.stringify(result.error.issues)}`);
  return result.data;
}

/** The "Create Change" request body from the StackFlow spec. */
const specCreate = {
  type: 'normal',
  short_description: 'Deploy StackFlowAPI v2026.2 release',
  description: 'Deploy new Lambda function version with incident auto-classification improvements',
  implementation_plan: '1. Upload new Lambda ZIP\n2. Update alias to new version\n3. Monitor error rate for 15 min',
  backout_plan: '1. Update Lambda alias back to previous version',
  test_plan: 'Run API smoke tests, verify health endpoint, check CloudWatch alarms',
  risk: 'low',
  scheduled_start: '2026-05-22T01:00:00Z',
  scheduled_end: '2026-05-22T02:00:00Z',
  assignment_group: 'Platform Engineering',
};

describe('createChangeSchema', () => {
  test("accepts the spec's example and normalises its timestamps to ISO UTC with milliseconds", () => {
    expect(parsed(createChangeSchema, specCreate)).toEqual({
      ...specCreate,
      scheduled_start: '2026-05-22T01:00:00.000Z',
      scheduled_end: '2026-05-22T02:00:00.000Z',
    });
  });

  test('only type and short_description are required', () => {
    expect(parsed(createChangeSchema, { type: 'emergency', short_description: 'Hotfix' })).toEqual({ type: 'emergency', short_description: 'Hotfix' });
    expect(issuesOf(createChangeSchema, {}).map((i) => i.path).sort()).toEqual(['short_description', 'type']);
  });

  test('short_description is trimmed and must not be blank or too long', () => {
    expect(parsed(createChangeSchema, { type: 'normal', short_description: '  Upgrade Aurora  ' }).short_description).toBe('Upgrade Aurora');
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: '   ' })).toEqual([expect.objectContaining({ path: 'short_description', message: 'is required' })]);
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x'.repeat(256) })[0]).toMatchObject({ path: 'short_description', code: 'too_big' });
    expect(parsed(createChangeSchema, { type: 'normal', short_description: 'x'.repeat(255) }).short_description).toHaveLength(255);
  });

  test.each([
    ['type', 'urgent'],
    ['type', 'Normal'],
    ['risk', 'extreme'],
  ])('%s must be one of its enum values (not %j)', (field, value) => {
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', [field]: value })).toEqual([expect.objectContaining({ path: field, code: 'invalid_value' })]);
  });

  test.each(['low', 'medium', 'high', 'critical', null])('risk accepts %j', (risk) => {
    expect(parsed(createChangeSchema, { type: 'normal', short_description: 'x', risk }).risk).toBe(risk);
  });

  test('unknown keys are refused, each one named', () => {
    const issues = issuesOf(createChangeSchema, { ...specCreate, priority: 1, risk_score: 10 });
    expect(issues).toEqual([expect.objectContaining({ path: '', code: 'unrecognized_keys', keys: ['priority', 'risk_score'] })]);
  });

  test.each([
    ['2026-05-22T03:00:00+02:00', '2026-05-22T01:00:00.000Z'],
    ['2026-05-21T20:00:00-05:00', '2026-05-22T01:00:00.000Z'],
    ['2026-05-22T01:00:00.5Z', '2026-05-22T01:00:00.500Z'],
    ['2026-05-22T01:00:00.000Z', '2026-05-22T01:00:00.000Z'],
  ])('timestamp %s is normalised to %s', (input, utc) => {
    const out = parsed(createChangeSchema, { type: 'normal', short_description: 'x', scheduled_start: input, scheduled_end: '2026-05-23T00:00:00Z' });
    expect(out.scheduled_start).toBe(utc);
  });

  test.each(['2026-05-22T01:00:00', '2026-05-22', 'tomorrow', '2026-13-01T00:00:00Z', '1716339600'])('timestamp %j without a valid instant and zone is refused', (value) => {
    const issues = issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', scheduled_start: value, scheduled_end: '2026-05-23T00:00:00Z' });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'scheduled_start', code: 'invalid_format' }));
  });

  test('cab_approvers must be email addresses', () => {
    expect(parsed(createChangeSchema, { type: 'normal', short_description: 'x', cab_approvers: ['arch-review@example.com', 'security@example.com'] }).cab_approvers).toHaveLength(2);
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', cab_approvers: ['arch-review@example.com', 'security team'] })).toEqual([
      expect.objectContaining({ path: 'cab_approvers.1', message: 'must be an email address' }),
    ]);
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', cab_approvers: 'security@example.com' })[0].path).toBe('cab_approvers');
  });

  test.each([0, 51, 1.5, '2'])('cab_quorum %j is refused', (cab_quorum) => {
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', cab_quorum })[0].path).toBe('cab_quorum');
  });

  test('nullable fields accept null', () => {
    const out = parsed(createChangeSchema, { type: 'normal', short_description: 'x', description: null, implementation_plan: null, ci_id: null, cab_quorum: null, scheduled_start: null, scheduled_end: null });
    expect(out).toMatchObject({ description: null, implementation_plan: null, ci_id: null, cab_quorum: null });
  });

  test('a half-set or inverted maintenance window is refused', () => {
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', scheduled_start: '2026-05-22T01:00:00Z' }).map((i) => i.path)).toEqual(['scheduled_end']);
    expect(issuesOf(createChangeSchema, { type: 'normal', short_description: 'x', scheduled_start: '2026-05-22T02:00:00Z', scheduled_end: '2026-05-22T01:00:00Z' }).map((i) => i.path)).toEqual([
      'scheduled_end',
    ]);
  });
});

describe('patchChangeSchema', () => {
  test('an empty patch is refused', () => {
    expect(issuesOf(patchChangeSchema, {})).toEqual([expect.objectContaining({ path: '', message: 'send at least one field to change' })]);
  });

  test("the spec's PATCH example parses, with actual_start normalised", () => {
    expect(parsed(patchChangeSchema, { state: 'in_progress', actual_start: '2026-05-22T02:05:00+01:00' })).toEqual({ state: 'in_progress', actual_start: '2026-05-22T01:05:00.000Z' });
  });

  test('every field is optional, short_description included, but still non-blank when sent', () => {
    expect(parsed(patchChangeSchema, { assigned_to: 'carol@example.com' })).toEqual({ assigned_to: 'carol@example.com' });
    expect(issuesOf(patchChangeSchema, { short_description: ' ' })[0]).toMatchObject({ path: 'short_description', message: 'is required' });
  });

  test.each(['draft', 'submitted', 'cab_review', 'scheduled', 'in_progress', 'completed', 'closed', 'cancelled', 'failed', 'rejected', 'post_review'])('state %s is accepted', (state) => {
    expect(parsed(patchChangeSchema, { state }).state).toBe(state);
  });

  test('an unknown state is refused', () => {
    expect(issuesOf(patchChangeSchema, { state: 'done' })).toEqual([expect.objectContaining({ path: 'state', code: 'invalid_value' })]);
  });

  test('unknown and server-owned keys are refused', () => {
    expect(issuesOf(patchChangeSchema, { state: 'closed', id: 'CHG0000001', version: 3 })).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['id', 'version'] })]);
  });

  test('a nested review is validated strictly too', () => {
    expect(parsed(patchChangeSchema, { review: { outcome: 'successful', notes: 'ok' } })).toEqual({ review: { outcome: 'successful', notes: 'ok' } });
    expect(issuesOf(patchChangeSchema, { review: { outcome: 'great', notes: 'ok', by: 'me' } }).map((i) => [i.path, i.code])).toEqual(
      expect.arrayContaining([
        ['review.outcome', 'invalid_value'],
        ['review', 'unrecognized_keys'],
      ]),
    );
  });

  test('timestamps must carry a zone', () => {
    expect(issuesOf(patchChangeSchema, { state: 'completed', actual_end: '2026-05-22T02:00:00' })[0]).toMatchObject({ path: 'actual_end', code: 'invalid_format' });
  });
});

describe('submitCabSchema', () => {
  test('an empty body is fine', () => {
    expect(parsed(submitCabSchema, {})).toEqual({});
  });

  test("the spec's example parses with its meeting date normalised", () => {
    expect(parsed(submitCabSchema, { cab_meeting_date: '2026-05-21T14:00:00Z', notes: 'Urgent: addresses P1 incident PRB0000123' })).toEqual({
      cab_meeting_date: '2026-05-21T14:00:00.000Z',
      notes: 'Urgent: addresses P1 incident PRB0000123',
    });
  });

  test('approvers must be emails, quorum a positive integer, and no unknown keys', () => {
    expect(issuesOf(submitCabSchema, { cab_approvers: ['not-an-email'] })[0].path).toBe('cab_approvers.0');
    expect(issuesOf(submitCabSchema, { cab_quorum: 0 })[0].path).toBe('cab_quorum');
    expect(issuesOf(submitCabSchema, { meeting: 'tomorrow' })[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['meeting'] });
    expect(issuesOf(submitCabSchema, { cab_meeting_date: 'next Tuesday' })[0]).toMatchObject({ path: 'cab_meeting_date', code: 'invalid_format' });
  });
});

describe('rejectSchema', () => {
  test('a reason is required and trimmed', () => {
    expect(parsed(rejectSchema, { reason: '  Restore time not measured ' })).toEqual({ reason: 'Restore time not measured' });
    expect(issuesOf(rejectSchema, {})[0].path).toBe('reason');
    expect(issuesOf(rejectSchema, { reason: '  ' })[0]).toMatchObject({ path: 'reason', message: 'reason is required: say why the change is rejected' });
  });

  test('comment is optional and nullable; nothing else is allowed', () => {
    expect(parsed(rejectSchema, { reason: 'r', comment: null })).toEqual({ reason: 'r', comment: null });
    expect(issuesOf(rejectSchema, { reason: 'r', decision: 'rejected' })[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['decision'] });
  });
});

describe('reviewSchema', () => {
  test.each(['successful', 'successful_with_issues', 'unsuccessful'])('outcome %s is accepted', (outcome) => {
    expect(parsed(reviewSchema, { outcome, notes: 'Went fine' })).toEqual({ outcome, notes: 'Went fine' });
  });

  test('outcome and notes are both required, and the object is strict', () => {
    expect(issuesOf(reviewSchema, {}).map((i) => i.path).sort()).toEqual(['notes', 'outcome']);
    expect(issuesOf(reviewSchema, { outcome: 'failed', notes: 'x' })[0]).toMatchObject({ path: 'outcome', code: 'invalid_value' });
    expect(issuesOf(reviewSchema, { outcome: 'successful', notes: '' })[0]).toMatchObject({ path: 'notes', message: 'is required' });
    expect(issuesOf(reviewSchema, { outcome: 'successful', notes: 'x', reviewer: 'me' })[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['reviewer'] });
  });
});

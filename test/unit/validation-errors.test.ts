import { z, type ZodError } from 'zod';
import { validationErrorsOf } from '../../api/router';
import { editDistance, fieldsAt, nearestField } from '../../api/suggest';
import { approveSchema, createChangeSchema, patchChangeSchema, READ_ONLY_CHANGE_FIELDS, rejectSchema } from '../../domain/changes/requests';

function errorOf(schema: z.ZodType, input: unknown): ZodError {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the input to be refused');
  return result.error;
}

const readOnly = new Set<string>(READ_ONLY_CHANGE_FIELDS);

describe('validationErrorsOf', () => {
  test('one unknown_field entry per unrecognised key', () => {
    const errors = validationErrorsOf(errorOf(patchChangeSchema, { colour: 'red', shape: 'round', state: 'closed' }), 'json', readOnly);
    expect(errors).toEqual([
      { field: 'colour', code: 'unknown_field', message: expect.stringContaining('colour') },
      { field: 'shape', code: 'unknown_field', message: expect.stringContaining('shape') },
    ]);
  });

  test('server-owned keys are read_only rather than unknown', () => {
    const errors = validationErrorsOf(errorOf(patchChangeSchema, { risk_score: 5, version: 2, colour: 'red', state: 'closed' }), 'json', readOnly);
    expect(errors).toEqual(
      expect.arrayContaining([
        { field: 'risk_score', code: 'read_only', message: expect.stringContaining('set by the server') },
        { field: 'version', code: 'read_only', message: expect.stringContaining('set by the server') },
        { field: 'colour', code: 'unknown_field', message: expect.any(String) },
      ]),
    );
    expect(errors).toHaveLength(3);
  });

  test('without a read-only list, every unrecognised key is unknown_field', () => {
    expect(validationErrorsOf(errorOf(patchChangeSchema, { id: 'CHG0000001', state: 'closed' }), 'json')).toEqual([{ field: 'id', code: 'unknown_field', message: expect.any(String) }]);
  });

  test('read-only applies to top-level keys only; nested unknown keys get their full path', () => {
    const errors = validationErrorsOf(errorOf(patchChangeSchema, { review: { outcome: 'successful', notes: 'ok', id: 'x' } }), 'json', readOnly);
    expect(errors).toEqual([{ field: 'review.id', code: 'unknown_field', message: expect.any(String) }]);
  });

  test('ordinary issues keep their zod code and dotted path', () => {
    const errors = validationErrorsOf(errorOf(patchChangeSchema, { state: 'done', cab_approvers: ['ok@example.com', 'nope'] }), 'json');
    expect(errors).toEqual(
      expect.arrayContaining([
        { field: 'state', code: 'invalid_value', message: expect.any(String) },
        { field: 'cab_approvers.1', code: 'invalid_format', message: 'must be an email address' },
      ]),
    );
  });

  test('custom issues report params.code when given, "custom" otherwise', () => {
    const schema = z
      .object({ start: z.number(), end: z.number() })
      .superRefine((v, ctx) => {
        if (v.end <= v.start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start', params: { code: 'invalid_window' } });
      })
      .refine((v) => v.start >= 0, { message: 'start must not be negative' });
    expect(validationErrorsOf(errorOf(schema, { start: -5, end: -10 }))).toEqual([
      { field: 'end', code: 'invalid_window', message: 'must be after start' },
      { field: 'request', code: 'custom', message: 'start must not be negative' },
    ]);
  });

  test('root-level issues are attributed to the request part that failed', () => {
    const err = errorOf(patchChangeSchema, {});
    expect(validationErrorsOf(err, 'json')).toEqual([{ field: 'body', code: 'custom', message: 'send at least one field to change' }]);
    expect(validationErrorsOf(err, 'query')[0].field).toBe('query');
    expect(validationErrorsOf(err)[0].field).toBe('request');
  });
});

describe('unknown fields name the nearest known one', () => {
  const unknown = (schema: z.ZodType, body: unknown) => validationErrorsOf(errorOf(schema, body), 'json', readOnly, schema);

  test('"comments" on approve: did you mean "comment"?', () => {
    expect(unknown(approveSchema, { comments: 'LGTM' })).toEqual([
      { field: 'comments', code: 'unknown_field', message: '"comments" is not a recognised field; did you mean "comment"?' },
    ]);
  });

  test('case and separators are forgiven: assignedTo, scheduled-start', () => {
    const errors = unknown(patchChangeSchema, { assignedTo: 'x@example.com', 'scheduled-start': '2026-05-22T01:00:00Z', state: 'closed' });
    expect(errors.map((e) => e.message)).toEqual([
      '"assignedTo" is not a recognised field; did you mean "assigned_to"?',
      '"scheduled-start" is not a recognised field; did you mean "scheduled_start"?',
    ]);
  });

  test('nested objects suggest from their own keys', () => {
    expect(unknown(patchChangeSchema, { review: { outcome: 'successful', note: 'ok' } })).toEqual(
      expect.arrayContaining([{ field: 'review.note', code: 'unknown_field', message: '"note" is not a recognised field; did you mean "notes"?' }]),
    );
  });

  test('nothing close enough: no guess', () => {
    expect(unknown(createChangeSchema, { type: 'normal', short_description: 'x', colour: 'red' })).toEqual([
      { field: 'colour', code: 'unknown_field', message: '"colour" is not a recognised field' },
    ]);
  });

  test('read-only fields keep their own message', () => {
    expect(unknown(patchChangeSchema, { risk_scor: 5, risk_score: 5, state: 'closed' })).toEqual([
      { field: 'risk_scor', code: 'unknown_field', message: expect.not.stringContaining('did you mean') },
      { field: 'risk_score', code: 'read_only', message: expect.stringContaining('set by the server') },
    ]);
  });
});

describe('a rejection without a reason says what is missing', () => {
  const REASON = 'reason is required: say why the change is rejected';
  test.each([{}, { reason: '' }, { reason: '   ' }, { reason: null }, { comment: 'no' }])('%j', (body) => {
    expect(validationErrorsOf(errorOf(rejectSchema, body), 'json')).toEqual([{ field: 'reason', code: expect.any(String), message: REASON }]);
  });

  test('a reason of the wrong type is still reported as such', () => {
    expect(validationErrorsOf(errorOf(rejectSchema, { reason: 42 }), 'json')).toEqual([{ field: 'reason', code: 'invalid_type', message: 'must be a string' }]);
  });
});

describe('suggest', () => {
  test.each([
    ['', '', 0],
    ['comment', 'comments', 1],
    ['kitten', 'sitting', 3],
    ['notes', 'note', 1],
    ['abc', '', 3],
  ])('editDistance(%j, %j) = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  test('nearestField allows about one edit per three characters, and prefers the closest', () => {
    expect(nearestField('comments', ['reason', 'comment'])).toBe('comment');
    expect(nearestField('typ', ['type', 'state'])).toBe('type');
    expect(nearestField('xyz', ['type', 'state'])).toBeUndefined();
    expect(nearestField('stat', ['state', 'start'])).toBe('state');
  });

  test('fieldsAt looks through wrappers and into nested objects and arrays', () => {
    const schema = z.strictObject({ a: z.string(), nested: z.strictObject({ b: z.number() }).nullable().optional(), list: z.array(z.object({ c: z.string() })) });
    expect(fieldsAt(schema, [])).toEqual(['a', 'nested', 'list']);
    expect(fieldsAt(schema, ['nested'])).toEqual(['b']);
    expect(fieldsAt(schema, ['list', 0])).toEqual(['c']);
    expect(fieldsAt(schema, ['a'])).toEqual([]);
    expect(fieldsAt(patchChangeSchema, ['review'])).toEqual(['outcome', 'notes']);
  });
});

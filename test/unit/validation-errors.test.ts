import { z, type ZodError } from 'zod';
import { validationErrorsOf } from '../../api/router';
import { patchChangeSchema, READ_ONLY_CHANGE_FIELDS } from '../../domain/changes/schemas';

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

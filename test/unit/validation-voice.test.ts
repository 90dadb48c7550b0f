import { z, type ZodError } from 'zod';
import { validationErrorsOf } from '../../api/router';
import { createChangeSchema, rejectSchema } from '../../domain/changes/requests';
import { bulkRequestSchema } from '../../domain/incidents/requests';
import { createPromotionSchema, environmentSchema, freezeWindowSchema, releaseSchema } from '../../domain/promotions/requests';

/**
 * What a 400 lists, as the API builds it (api/router.ts installs the plain
 * messages): one voice ("is required", "must be …", never zod's "Invalid
 * input: expected string, received undefined"), one entry per field, and
 * every problem of a body at once, cross-field checks included.
 */
function errorsOf(schema: z.ZodType, body: unknown) {
  const result = schema.safeParse(body);
  if (result.success) throw new Error('expected the body to be refused');
  return validationErrorsOf(result.error as ZodError, 'json', new Set(), schema, body);
}

const ZOD_WORDING = /Invalid input|Invalid option|Too small|Too big|Invalid string|expected .*, received|Unrecognized/;

test('a left-out field is required, whatever check its schema words', () => {
  expect(errorsOf(createChangeSchema, {})).toEqual([
    { field: 'type', code: 'required', message: 'is required' },
    { field: 'short_description', code: 'required', message: 'is required' },
  ]);
  // A UUID field's own message ("must be a UUID") is for a value that is there.
  expect(errorsOf(createPromotionSchema, { releaseId: 'x', reason: 'r' })).toEqual([
    { field: 'releaseId', code: 'invalid_format', message: 'must be a UUID' },
    { field: 'targetEnvironmentId', code: 'required', message: 'is required' },
  ]);
});

test('a schema that says why a field is required keeps its words', () => {
  expect(errorsOf(rejectSchema, { comment: 'no' })).toEqual([{ field: 'reason', code: 'required', message: 'reason is required: say why the change is rejected' }]);
});

test('wrong values read as the API speaks', () => {
  expect(errorsOf(createChangeSchema, { type: 'urgent', short_description: 5 })).toEqual([
    { field: 'type', code: 'invalid_value', message: 'must be one of normal, standard, emergency' },
    { field: 'short_description', code: 'invalid_type', message: 'must be a string' },
  ]);
  expect(errorsOf(environmentSchema, { name: 'prod', order: null, requiredApprovals: 51 })).toEqual([
    { field: 'order', code: 'invalid_type', message: 'must be a number, not null' },
    { field: 'requiredApprovals', code: 'too_big', message: 'must be at most 50' },
  ]);
  expect(errorsOf(releaseSchema, { name: 'r', version: '1.0.0', components: [] })).toEqual([{ field: 'components', code: 'too_small', message: 'must have at least one item' }]);
  expect(errorsOf(freezeWindowSchema, 'a freeze')).toEqual([{ field: 'body', code: 'invalid_type', message: 'must be an object' }]);
});

test('one entry per field', () => {
  // Not an instant, and so not one in range either: the first is what the field is told.
  const errors = errorsOf(createChangeSchema, { type: 'normal', short_description: 'x', scheduled_start: 'soon', scheduled_end: 'later' });
  expect(errors.map((e) => e.field)).toEqual(['scheduled_start', 'scheduled_end']);
});

test('every problem of a body at once, the checks across fields included', () => {
  expect(errorsOf(freezeWindowSchema, { start: '2030-01-02T00:00:00Z', end: '2030-01-01T00:00:00Z' })).toEqual([
    { field: 'name', code: 'required', message: 'is required' },
    { field: 'end', code: 'custom', message: 'must be after start' },
  ]);
  expect(errorsOf(createChangeSchema, { short_description: 'x', scheduled_start: '2030-01-02T00:00:00Z', scheduled_end: '2030-01-01T00:00:00Z' })).toEqual([
    { field: 'type', code: 'required', message: 'is required' },
    { field: 'scheduled_end', code: 'invalid_window', message: 'must be after scheduled_start' },
  ]);
  expect(errorsOf(bulkRequestSchema, { operation: 'create', ids: ['INC0000001'], colour: 'red' })).toEqual([
    { field: 'colour', code: 'unknown_field', message: '"colour" is not a recognised field' },
    { field: 'records', code: 'invalid_combination', message: 'a bulk create needs "records"' },
    { field: 'ids', code: 'invalid_combination', message: 'a bulk create takes "records", not "ids"' },
  ]);
});

test('a check across fields does not run on a field that already failed', () => {
  expect(errorsOf(freezeWindowSchema, { name: 'x', start: 'soon', end: '2030-01-01T00:00:00Z' })).toEqual([
    { field: 'start', code: 'invalid_format', message: expect.stringContaining('ISO 8601') },
  ]);
});

test.each([
  ['change', createChangeSchema, { type: 1, short_description: [], risk: 'huge', cab_quorum: 0.5, cab_approvers: 'x' }],
  ['environment', environmentSchema, { name: true, order: -1, securityThresholds: { maxCritical: 'a' } }],
  ['release', releaseSchema, { name: 'r', version: '1', components: [{ componentId: 1 }], class: 'X' }],
  ['freeze window', freezeWindowSchema, { name: 1, exemptReleaseClasses: 'standard', rrule: 5 }],
])('no zod wording in a %s body', (_, schema, body) => {
  const errors = errorsOf(schema as z.ZodType, body);
  expect(errors.length).toBeGreaterThan(1);
  expect(errors.filter((e) => ZOD_WORDING.test(e.message))).toEqual([]);
  expect(new Set(errors.map((e) => e.field)).size).toBe(errors.length);
});

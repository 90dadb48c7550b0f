import { buildDocument } from '../../api/docs';
import { environmentsRouter } from '../../api/modules/environments';
import { freezeWindowSchema } from '../../domain/promotions/requests';

/**
 * A freeze window is one-off (start and end) or recurring (rrule, timezone,
 * duration; start optional). The document states the forms as FreezeWindowInput's
 * oneOf, so a client (or schemathesis) building a body from it sends one the
 * server takes: for every combination of the five fields, the document and the
 * server's check give the same verdict.
 */
type Branch = { required: string[]; properties?: Record<string, unknown> };
type Document = { components: { schemas: Record<string, { oneOf?: Branch[] }> } };

const VALUES = {
  start: '2030-01-05T00:00:00Z',
  end: '2030-01-07T00:00:00Z',
  rrule: 'FREQ=WEEKLY;BYDAY=SA',
  timezone: 'Europe/Berlin',
  duration: 'PT48H',
} as const;
const FIELDS = Object.keys(VALUES) as (keyof typeof VALUES)[];

const combinations = Array.from({ length: 2 ** FIELDS.length }, (_, bits) => FIELDS.filter((_, i) => bits & (1 << i)));

/** A branch with only `required` and `false` properties is what a body's field names alone decide. */
const matches = (branch: Branch, body: Record<string, unknown>) =>
  branch.required.every((f) => f in body) && Object.entries(branch.properties ?? {}).every(([f, schema]) => schema !== false || !(f in body));

describe.each(['/api/v1', '/prod/api'])('the %s document', (prefix) => {
  const doc = buildDocument([environmentsRouter()], prefix) as unknown as Document;
  const forms = doc.components.schemas.FreezeWindowInput.oneOf;

  test('declares the two forms', () => {
    expect(forms?.map((b) => b.required)).toEqual([
      ['start', 'end'],
      ['rrule', 'timezone', 'duration'],
    ]);
  });

  test.each(combinations.map((fields) => [fields.join('+') || '(none)', fields] as const))('and the server agree on %s', (_, fields) => {
    const body: Record<string, unknown> = { name: 'Holiday freeze', ...Object.fromEntries(fields.map((f) => [f, VALUES[f]])) };
    const documented = (forms ?? []).filter((branch) => matches(branch, body)).length === 1;
    expect(freezeWindowSchema.safeParse(body).success).toBe(documented);
  });
});

import { OpenAPIHono } from '@hono/zod-openapi';
import { unstorableTextErrors } from '../../api/input-guard';
import { changesRouter } from '../../api/modules/changes';
import { createChangeSchema, patchChangeSchema } from '../../domain/changes/requests';
import { instant } from '../../domain/instant';
import { isStorableText, unstorableTextPaths } from '../../domain/text';

const LONE_HIGH = String.fromCharCode(0xd800);
const LONE_LOW = String.fromCharCode(0xdc00);

describe('isStorableText', () => {
  test.each([
    ['plain ASCII', true, 'Upgrade Aurora'],
    ['accents, CJK and newlines', true, 'Mise à jour\n数据库'],
    ['a surrogate pair (emoji)', true, 'deploy 🚀 now'],
    ['the empty string', true, ''],
    ['a NUL byte', false, 'a\u0000b'],
    ['a lone high surrogate', false, `bad ${LONE_HIGH}`],
    ['a lone low surrogate', false, `bad ${LONE_LOW} x`],
    ['a reversed pair', false, `${LONE_LOW}${LONE_HIGH}`],
    ['a high surrogate at the end', false, `x${LONE_HIGH}`],
  ])('%s → storable: %s', (_name, storable, text) => {
    expect(isStorableText(text)).toBe(storable);
  });

  test('what JSON.parse makes of the escapes an attacker sends', () => {
    expect(isStorableText(JSON.parse('"bad \\ud800"'))).toBe(false);
    expect(isStorableText(JSON.parse('"a\\u0000b"'))).toBe(false);
    expect(isStorableText(JSON.parse('"ok \\ud83d\\ude80"'))).toBe(true);
  });
});

describe('unstorableTextPaths', () => {
  test('finds bad strings and bad keys at any depth, in document order', () => {
    const value = {
      ok: 'fine',
      a: 'x\u0000',
      nested: { list: ['fine', `y${LONE_HIGH}`], ['k\u0000']: 'hidden' },
      n: 5,
      nil: null,
    };
    expect(unstorableTextPaths(value)).toEqual([['a'], ['nested', 'list', 1], ['nested', 'k\u0000']]);
  });

  test('a bare string is reported at the empty path', () => {
    expect(unstorableTextPaths('\u0000')).toEqual([[]]);
    expect(unstorableTextPaths('fine')).toEqual([]);
  });

  test('survives a nesting depth that would overflow a recursive walk', () => {
    let deep: unknown = 'a\u0000';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const [path] = unstorableTextPaths(deep);
    expect(path).toHaveLength(50_000);
  });
});

describe('unstorableTextErrors', () => {
  test('names each field the way validationErrors do', () => {
    expect(unstorableTextErrors({ review: { notes: 'a\u0000' }, cab_approvers: ['x', `${LONE_HIGH}`] }, 'json')).toEqual([
      { field: 'review.notes', code: 'invalid_format', message: expect.stringContaining('NUL') },
      { field: 'cab_approvers.1', code: 'invalid_format', message: expect.stringContaining('surrogate') },
    ]);
    expect(unstorableTextErrors({ q: '\u0000' }, 'query')).toEqual([expect.objectContaining({ field: 'q' })]);
  });
});

describe('storable text in the change schemas', () => {
  test.each([
    ['short_description', { type: 'normal', short_description: 'a\u0000b' }],
    ['description', { type: 'normal', short_description: 'ok', description: `bad ${LONE_HIGH}` }],
    ['ci_id', { type: 'normal', short_description: 'ok', ci_id: 'ci\u0000' }],
  ])('create refuses unstorable %s', (field, body) => {
    const result = createChangeSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ path: [field], code: 'invalid_format', message: expect.stringContaining('NUL') })]);
  });

  test('the nested review notes of a patch', () => {
    const result = patchChangeSchema.safeParse({ review: { outcome: 'successful', notes: `x${LONE_LOW}` } });
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['review.notes']);
  });

});

describe('the OpenAPI document declares the rule', () => {
  const app = new OpenAPIHono();
  app.route('/api/v1', changesRouter());
  const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'test', version: '1' } }) as unknown as {
    components: { schemas: Record<string, { properties: Record<string, { pattern?: string }> }> };
    paths: Record<string, Record<string, { parameters: Array<{ name: string; schema: { pattern?: string } }> }>>;
  };
  const refuses = (pattern: string | undefined) => {
    const re = new RegExp(pattern ?? '');
    return re.test('ok') && !re.test('a\u0000b') && !re.test(`bad ${LONE_HIGH}`);
  };

  test.each(['short_description', 'description', 'implementation_plan', 'backout_plan', 'test_plan', 'assignment_group', 'assigned_to', 'ci_id'])(
    'as the pattern of the body field %s',
    (field) => {
      expect(refuses(doc.components.schemas.ChangeCreate.properties[field].pattern)).toBe(true);
    },
  );

  test.each(['q', 'ci_id', 'assignment_group', 'assigned_to'])('as the pattern of the list filter %s', (name) => {
    const param = doc.paths['/api/v1/changes'].get.parameters.find((p) => p.name === name);
    expect(refuses(param?.schema.pattern)).toBe(true);
  });

  test('as the pattern of the {id} path parameter', () => {
    expect(refuses(doc.paths['/api/v1/changes/{id}'].get.parameters.find((p) => p.name === 'id')?.schema.pattern)).toBe(true);
  });
});

describe('instant', () => {
  const schema = instant();
  const parse = (v: string) => schema.safeParse(v);

  test.each([
    ['2026-05-22T01:00:00Z', '2026-05-22T01:00:00.000Z'],
    ['2026-05-22T03:00:00+02:00', '2026-05-22T01:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('accepts %s as %s', (input, output) => {
    expect(parse(input)).toEqual({ success: true, data: output });
  });

  test.each([
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['year 0001 pushed into year 0000 by its offset', '0001-01-01T00:00:00+01:00'],
    ['year 9999 pushed into year 10000 by its offset', '9999-12-31T23:00:00-05:00'],
  ])('refuses %s (%s) as out of range', (_name, input) => {
    const result = parse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ code: 'custom', message: expect.stringContaining('between 0001-01-01') })]);
  });

  test.each(['10000-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', '2026-05-22T01:00:00', 'tomorrow', '2026-02-30T00:00:00Z'])('refuses the text %j', (input) => {
    expect(parse(input).success).toBe(false);
  });

  test('the change schemas use it', () => {
    const result = createChangeSchema.safeParse({ type: 'normal', short_description: 'x', scheduled_start: '0000-01-01T00:00:00Z', scheduled_end: '0000-01-01T01:00:00Z' });
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['scheduled_start', 'scheduled_end']));
    expect(patchChangeSchema.safeParse({ state: 'in_progress', actual_start: '0000-06-01T00:00:00Z' }).error?.issues[0].path).toEqual(['actual_start']);
  });
});

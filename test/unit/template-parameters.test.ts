import type { TemplateParameter } from '../../domain/templates/model';
import { resolveParameters } from '../../domain/templates/parameters';

const DECLARED: TemplateParameter[] = [
  { name: 'version', type: 'string' },
  { name: 'region', type: 'string', enum: ['eu', 'us'], default: 'eu' },
  { name: 'replicas', type: 'integer', default: 2 },
  { name: 'ratio', type: 'number', default: 0.5 },
  { name: 'dryRun', type: 'boolean', default: false },
  { name: 'targets', type: 'array', default: [] },
  { name: 'labels', type: 'object', default: {} },
];

it('applies the defaults of parameters left out and keeps the ones given', () => {
  expect(resolveParameters(DECLARED, { version: '1.2.3', region: 'us' })).toEqual({
    ok: true,
    parameters: { version: '1.2.3', region: 'us', replicas: 2, ratio: 0.5, dryRun: false, targets: [], labels: {} },
  });
});

it('names every problem at once: a required one missing, wrong types, a value outside the enum, an unknown name', () => {
  const result = resolveParameters(DECLARED, { region: 'asia', replicas: 1.5, ratio: 'half', dryRun: 'yes', targets: {}, labels: [], extra: 1 });
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.problems.map((p) => [p.field, p.code])).toEqual([
    ['parameters.extra', 'unknown_parameter'],
    ['parameters.version', 'required'],
    ['parameters.region', 'invalid_value'],
    ['parameters.replicas', 'invalid_type'],
    ['parameters.ratio', 'invalid_type'],
    ['parameters.dryRun', 'invalid_type'],
    ['parameters.targets', 'invalid_type'],
    ['parameters.labels', 'invalid_type'],
  ]);
  expect(result.problems.find((p) => p.field === 'parameters.region')!.message).toBe('must be one of "eu", "us"');
  expect(result.problems.find((p) => p.field === 'parameters.replicas')!.message).toBe('must be an integer, not a fractional number');
});

it('takes null as a value of the wrong type, not as absent', () => {
  const result = resolveParameters(DECLARED, { version: null });
  expect(result).toEqual({ ok: false, problems: [{ field: 'parameters.version', code: 'invalid_type', message: 'must be a string, not null' }] });
});

it('runs a template without parameters with none', () => {
  expect(resolveParameters(undefined, {})).toEqual({ ok: true, parameters: {} });
  expect(resolveParameters([], { x: 1 })).toMatchObject({ ok: false, problems: [{ field: 'parameters.x' }] });
});

it('does not take an inherited property for a given parameter', () => {
  expect(resolveParameters([{ name: 'toString', type: 'string', default: 'd' }], {})).toEqual({ ok: true, parameters: { toString: 'd' } });
});

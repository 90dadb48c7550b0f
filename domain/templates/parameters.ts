import type { ParameterType, TemplateParameter } from './model';
import { fitsType } from './validate';

/**
 * A run's parameters against what its template declares: every problem at
 * once, each naming `parameters.<name>`, so a caller fixes a request in one
 * go; a declared parameter left out takes its default, and one without a
 * default is required. A name the template does not declare is refused too:
 * a typo would otherwise run the pipeline with the default in its place.
 */

export interface ParameterProblem {
  field: string;
  code: 'required' | 'invalid_type' | 'invalid_value' | 'unknown_parameter';
  message: string;
}

export type ResolvedParameters = { ok: true; parameters: Record<string, unknown> } | { ok: false; problems: ParameterProblem[] };

export function resolveParameters(declared: readonly TemplateParameter[] | undefined, given: Record<string, unknown>): ResolvedParameters {
  const problems: ParameterProblem[] = [];
  const parameters: Record<string, unknown> = {};
  const known = new Map((declared ?? []).map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) problems.push({ field: `parameters.${name}`, code: 'unknown_parameter', message: `the template declares no parameter ${name}` });
  }
  for (const p of known.values()) {
    const field = `parameters.${p.name}`;
    const value = Object.hasOwn(given, p.name) ? given[p.name] : undefined;
    if (value === undefined) {
      if (p.default === undefined) problems.push({ field, code: 'required', message: `required: the template gives ${p.name} no default` });
      else parameters[p.name] = p.default;
      continue;
    }
    if (!fitsType(value, p.type)) {
      problems.push({ field, code: 'invalid_type', message: `must be ${article(p.type)}, not ${describe(value)}` });
      continue;
    }
    if (p.enum && !p.enum.some((allowed) => allowed === value)) {
      problems.push({ field, code: 'invalid_value', message: `must be one of ${p.enum.map((v) => JSON.stringify(v)).join(', ')}` });
      continue;
    }
    parameters[p.name] = value;
  }
  return problems.length ? { ok: false, problems } : { ok: true, parameters };
}

const article = (type: ParameterType) => (type === 'array' || type === 'integer' || type === 'object' ? `an ${type}` : `a ${type}`);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fractional number';
  return typeof value === 'object' ? 'an object' : `${article(typeof value as ParameterType)}`;
}

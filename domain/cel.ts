import { isCelError, isCelList, isCelMap, parse, run, type CelInput } from '@bufbuild/cel';

/**
 * CEL (the Common Expression Language) for the conditions users write: a
 * template node's `when`, a forEach's items, an approval policy's gates. CEL
 * has no side effects, no loops beyond its bounded macros and no `eval`; the
 * same expression gives the same answer in the API, an activity and a
 * workflow (it reads only its bindings), so workflows may evaluate it.
 */

/** Longest expression accepted: bounds parsing and evaluation cost. */
export const CEL_MAX_LENGTH = 2000;

export type CelCheck = { ok: true } | { ok: false; message: string };

/** Syntax check: the parser's message names the line and column. */
export function celSyntax(expression: string): CelCheck {
  if (expression.length > CEL_MAX_LENGTH) return { ok: false, message: `is longer than ${CEL_MAX_LENGTH} characters` };
  try {
    parse(expression);
    return { ok: true };
  } catch (error) {
    return { ok: false, message: (error as Error).message.replace(/^<input>:/, '') };
  }
}

export class CelEvaluationError extends Error {}

/** Evaluates `expression` over plain JSON bindings and answers plain JSON (lists, maps, strings, numbers, booleans, null). */
export function celEvaluate(expression: string, bindings: Record<string, unknown>): unknown {
  const result = run(expression, bindings as Record<string, CelInput>);
  if (isCelError(result)) throw new CelEvaluationError(result.message);
  return toJson(result);
}

/** A condition: anything but a boolean is an error, not a truthy guess. */
export function celCondition(expression: string, bindings: Record<string, unknown>): boolean {
  const value = celEvaluate(expression, bindings);
  if (typeof value !== 'boolean') throw new CelEvaluationError(`must be a boolean, got ${value === null ? 'null' : typeof value}`);
  return value;
}

function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (isCelList(value)) return Array.from(value as Iterable<unknown>, toJson);
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value as Iterable<[unknown, unknown]>) out[String(k)] = toJson(v);
    return out;
  }
  if (value instanceof Uint8Array) return Array.from(value);
  if (value !== null && typeof value === 'object' && 'value' in value && Object.keys(value).length === 1) return toJson((value as { value: unknown }).value);
  return value;
}

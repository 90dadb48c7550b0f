import { celEvaluate, celSyntax } from '../cel';

/**
 * `${{ … }}` in a node's inputs: a CEL expression over `parameters`, `steps`
 * (node id → { status, outputs }) and, under forEach, `item`/`index`. A
 * string that is one reference whole takes the value's own type (a list stays
 * a list); a reference inside a longer string is interpolated as text.
 */

const REFERENCE = /\$\{\{([\s\S]*?)\}\}/g;
/** Node ids are CEL identifiers, so `steps.build.outputs.version` reads as a path. */
export const NODE_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const STEP_MENTION = /\bsteps\.([A-Za-z_][A-Za-z0-9_]*)/g;

export interface ReferenceScope {
  parameters: Record<string, unknown>;
  steps: Record<string, { status: string; outputs: Record<string, unknown> | null }>;
  item?: unknown;
  index?: number;
}

export interface FoundReference {
  /** Path of the input holding it, e.g. ["headers", "Authorization"]. */
  path: (string | number)[];
  expression: string;
}

/** Every reference in a node's inputs, with where it sits. */
export function findReferences(value: unknown, path: (string | number)[] = []): FoundReference[] {
  if (typeof value === 'string') return [...value.matchAll(REFERENCE)].map((m) => ({ path, expression: m[1].trim() }));
  if (Array.isArray(value)) return value.flatMap((v, i) => findReferences(v, [...path, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => findReferences(v, [...path, k]));
  return [];
}

/** The node ids an expression (a reference or a `when`) reads through `steps.<id>`. */
export function stepsMentioned(expression: string): string[] {
  return [...new Set([...expression.matchAll(STEP_MENTION)].map((m) => m[1]))];
}

/** A reference's syntax problem, or null. */
export function referenceSyntax(expression: string): string | null {
  if (!expression) return 'is an empty ${{ }} reference';
  const check = celSyntax(expression);
  return check.ok ? null : check.message;
}

/** Resolves every reference in `value` against the scope; throws CelEvaluationError naming the expression. */
export function resolveReferences(value: unknown, scope: ReferenceScope): unknown {
  if (typeof value === 'string') {
    const found = [...value.matchAll(REFERENCE)];
    if (found.length === 1 && found[0][0] === value) return evaluate(found[0][1].trim(), scope);
    return value.replace(REFERENCE, (_, expression: string) => asText(evaluate(expression.trim(), scope)));
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, scope));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, scope)]));
  return value;
}

/** A bare field path (`item`, `steps.build.outputs.version`): what most references are. */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * A field path that exists in the JSON bindings reads the same through CEL
 * (field selection on maps) as directly; reading it directly spares a
 * workflow evaluating a forEach's every item the CEL planner's cost. Anything
 * else, a missing field included (for CEL's own error), goes through CEL.
 */
function readFieldPath(expression: string, bindings: Record<string, unknown>): { found: boolean; value?: unknown } {
  if (!FIELD_PATH.test(expression)) return { found: false };
  let current: unknown = bindings;
  for (const part of expression.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, part)) return { found: false };
    current = (current as Record<string, unknown>)[part];
  }
  const plain = current === null || ['string', 'boolean'].includes(typeof current) || (typeof current === 'number' && Number.isFinite(current));
  return plain || (typeof current === 'object' && current !== null) ? { found: true, value: current } : { found: false };
}

function evaluate(expression: string, scope: ReferenceScope): unknown {
  const bindings: Record<string, unknown> = { parameters: scope.parameters, steps: scope.steps };
  if (scope.item !== undefined) bindings.item = scope.item;
  if (scope.index !== undefined) bindings.index = scope.index;
  const direct = readFieldPath(expression, bindings);
  if (direct.found) return direct.value;
  try {
    return celEvaluate(expression, bindings);
  } catch (error) {
    (error as Error).message = `\${{ ${expression} }}: ${(error as Error).message}`;
    throw error;
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

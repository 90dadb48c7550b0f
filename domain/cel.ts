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
/**
 * Macros (map, filter, all, exists …) nested deeper than this are refused: each
 * level multiplies the work by a list's length, so three levels over lists of a
 * thousand items would be a billion steps inside one condition.
 */
export const CEL_MAX_COMPREHENSION_DEPTH = 2;

export type CelCheck = { ok: true } | { ok: false; message: string };

/** Syntax and cost check: the parser's message names the line and column. */
export function celSyntax(expression: string): CelCheck {
  const parsed = parsedOrProblem(expression);
  return 'message' in parsed ? { ok: false, message: parsed.message } : { ok: true };
}

type ParsedNode = { exprKind?: { case?: string; value?: unknown } };

function parsedOrProblem(expression: string): { root: ParsedNode } | { message: string } {
  if (expression.length > CEL_MAX_LENGTH) return { message: `is longer than ${CEL_MAX_LENGTH} characters` };
  let root: ParsedNode;
  try {
    root = parse(expression).expr as ParsedNode;
  } catch (error) {
    // The parser recurses per nesting level: a wall of brackets exhausts the stack before it says anything.
    if (error instanceof RangeError) return { message: 'is nested too deeply' };
    return { message: (error as Error).message.replace(/^<input>:/, '') };
  }
  if (comprehensionDepth(root) > CEL_MAX_COMPREHENSION_DEPTH) {
    return { message: `nests macros (map, filter, all, exists) more than ${CEL_MAX_COMPREHENSION_DEPTH} deep, which costs too much to evaluate` };
  }
  return { root };
}

/** The parsed tree's nodes with how many comprehensions enclose each (iterative: a deep tree cannot overflow the stack). */
function* nodesOf(root: ParsedNode): Generator<{ node: ParsedNode; depth: number; parent?: ParsedNode }> {
  const stack: Array<{ node: ParsedNode; depth: number; parent?: ParsedNode }> = [{ node: root, depth: 0 }];
  while (stack.length) {
    const entry = stack.pop()!;
    yield entry;
    const inner = entry.node.exprKind?.case === 'comprehensionExpr' ? entry.depth + 1 : entry.depth;
    for (const child of childrenOf(entry.node.exprKind?.value)) stack.push({ node: child, depth: inner, parent: entry.node });
  }
}

function childrenOf(value: unknown): ParsedNode[] {
  const out: ParsedNode[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) for (const item of v) visit(item);
    else if (v !== null && typeof v === 'object') {
      const record = v as Record<string, unknown>;
      if (record.$typeName === 'cel.expr.Expr') out.push(record as ParsedNode);
      else for (const [key, field] of Object.entries(record)) if (key !== '$typeName') visit(field);
    }
  };
  visit(value);
  return out;
}

function comprehensionDepth(root: ParsedNode): number {
  let most = 0;
  for (const { node, depth } of nodesOf(root)) most = Math.max(most, node.exprKind?.case === 'comprehensionExpr' ? depth + 1 : depth);
  return most;
}

export interface CelNames {
  /** Free variables the expression reads (not a macro's own loop variables). */
  variables: string[];
  /** `root.field` selections of a free variable, e.g. ["parameters", "region"], ["steps", "build"]. */
  selections: Array<[string, string]>;
}

/** What an expression reads, from its parsed tree (not from its text, so a string literal mentioning `steps.x` reads nothing). */
export function celNames(expression: string): CelNames | undefined {
  const parsed = parsedOrProblem(expression);
  if ('message' in parsed) return undefined;
  const locals = new Set<string>();
  const idents = new Set<string>();
  const selections = new Map<string, [string, string]>();
  for (const { node } of nodesOf(parsed.root)) {
    const kind = node.exprKind;
    if (kind?.case === 'comprehensionExpr') {
      const c = kind.value as { iterVar?: string; iterVar2?: string; accuVar?: string };
      for (const name of [c.iterVar, c.iterVar2, c.accuVar]) if (name) locals.add(name);
    } else if (kind?.case === 'identExpr') {
      idents.add((kind.value as { name: string }).name);
    } else if (kind?.case === 'selectExpr') {
      const select = kind.value as { operand?: ParsedNode; field: string };
      const operand = select.operand?.exprKind;
      if (operand?.case === 'identExpr') {
        const root = (operand.value as { name: string }).name;
        selections.set(`${root}.${select.field}`, [root, select.field]);
      }
    } else if (kind?.case === 'callExpr') {
      // steps["build"] reads the same as steps.build.
      const call = kind.value as { function: string; args: ParsedNode[] };
      const [operand, key] = call.args ?? [];
      if (call.function === '_[_]' && operand?.exprKind?.case === 'identExpr' && key?.exprKind?.case === 'constExpr') {
        const constant = (key.exprKind.value as { constantKind?: { case?: string; value?: unknown } }).constantKind;
        if (constant?.case === 'stringValue') {
          const root = (operand.exprKind.value as { name: string }).name;
          selections.set(`${root}.${constant.value}`, [root, String(constant.value)]);
        }
      }
    }
  }
  const free = (name: string) => !locals.has(name);
  const sorted = [...selections.keys()].sort().map((key) => selections.get(key)!);
  return { variables: [...idents].filter(free).sort(), selections: sorted.filter(([root]) => free(root)) };
}

/**
 * What a dry run over sample bindings tells of an expression's types: its
 * value, a type mistake (an operator or function applied to operands it has no
 * overload for, a function that does not exist), or nothing (it read a key
 * the samples do not hold, or divided by a sample zero: only a real run knows).
 * The checker of @bufbuild/cel is not part of its public API; evaluation over
 * values of the declared types finds the same mistakes on the paths it takes.
 */
export type CelDryRun = { kind: 'value'; value: unknown } | { kind: 'type-error'; message: string } | { kind: 'unknown' };

const TYPE_MISTAKE = /no matching overload|no such overload|unbound function|unsupported|no such function/i;

export function celDryRun(expression: string, bindings: Record<string, unknown>): CelDryRun {
  if ('message' in parsedOrProblem(expression)) return { kind: 'unknown' };
  let result: unknown;
  try {
    result = run(expression, bindings as Record<string, CelInput>);
  } catch {
    return { kind: 'unknown' };
  }
  if (isCelError(result)) return TYPE_MISTAKE.test(result.message) ? { kind: 'type-error', message: result.message } : { kind: 'unknown' };
  return { kind: 'value', value: toJson(result) };
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

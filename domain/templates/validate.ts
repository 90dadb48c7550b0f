import { z } from 'zod';
import { celDryRun, celNames, celSyntax } from '../cel';
import { parseDuration } from '../duration';
import { ancestorsOf, findCycles } from './dag';
import { STEP_TYPES, type StepTypeName, type TemplateSpec } from './model';
import { findReferences } from './references';
import { templateSpecSchema, type TemplateSpecInput } from './requests';
import { STEP_TYPE_DEFINITIONS } from './step-types';

/**
 * Judges a whole template and reports every problem at once, each naming the
 * node and the field it concerns, so an author fixes a template in one round:
 * its shape (requests.ts), duplicate ids, unknown step types and
 * dependencies, cycles (named), dependencies across sections, references and
 * conditions (CEL syntax, cost, names, types by a dry run over sample values
 * of the declared parameter types and the step types' outputs), and inputs
 * against each step type's schema (a value holding a `${{ }}` reference is
 * judged when the run resolves it).
 */

export interface TemplateProblem {
  nodeId?: string;
  /** Where in the body, as a dotted path: `nodes.2.inputs.url`, `finally.0.dependsOn`. */
  field: string;
  code: string;
  message: string;
}

export type TemplateValidation = { ok: true; spec: TemplateSpec } | { ok: false; problems: TemplateProblem[] };

const SECTIONS = ['nodes', 'onCancel', 'finally'] as const;
type Section = (typeof SECTIONS)[number];
type NodeInput = TemplateSpecInput['nodes'][number];
type ParameterInput = NonNullable<TemplateSpecInput['parameters']>[number];
type Path = ReadonlyArray<PropertyKey>;

const MAX_TIMEOUT_MS = 30 * 86_400_000;
const MAX_BACKOFF_MS = 86_400_000;
const HAS_REFERENCE = /\$\{\{[\s\S]*?\}\}/;

export function validateTemplate(body: unknown): TemplateValidation {
  const parsed = templateSpecSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((issue) => shapeProblem(issue, body)) };
  const spec = parsed.data;
  const problems = [...parameterProblems(spec), ...nodeProblems(spec)];
  return problems.length ? { ok: false, problems } : { ok: true, spec: spec as TemplateSpec };
}

function shapeProblem(issue: z.core.$ZodIssue, body: unknown): TemplateProblem {
  const [section, index] = issue.path;
  const node = SECTIONS.includes(section as Section) && typeof index === 'number' ? at(body, [section, index]) : undefined;
  const nodeId = node && typeof (node as { id?: unknown }).id === 'string' ? (node as { id: string }).id : undefined;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const field = [...issue.path, ...keys.slice(0, 1)].map(String).join('.') || 'body';
  const message = issue.code === 'unrecognized_keys' ? `${keys.map((k) => `"${k}"`).join(', ')} ${keys.length > 1 ? 'are not recognised fields' : 'is not a recognised field'}` : issue.message;
  return { ...(nodeId ? { nodeId } : {}), field, code: issue.code === 'unrecognized_keys' ? 'unknown_field' : issue.code, message };
}

function parameterProblems(spec: TemplateSpecInput): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const seen = new Set<string>();
  (spec.parameters ?? []).forEach((p, i) => {
    const field = `parameters.${i}`;
    if (seen.has(p.name)) problems.push({ field: `${field}.name`, code: 'duplicate_parameter', message: `parameter "${p.name}" is declared twice` });
    seen.add(p.name);
    if (p.enum) {
      if (!['string', 'number', 'integer'].includes(p.type)) problems.push({ field: `${field}.enum`, code: 'invalid_enum', message: `a ${p.type} parameter cannot list allowed values` });
      else p.enum.forEach((v, j) => !fitsType(v, p.type) && problems.push({ field: `${field}.enum.${j}`, code: 'invalid_enum', message: `${JSON.stringify(v)} is not a ${p.type}` }));
    }
    if (p.default !== undefined) {
      if (!fitsType(p.default, p.type)) problems.push({ field: `${field}.default`, code: 'invalid_default', message: `the default must be a ${p.type}` });
      else if (p.enum && !p.enum.includes(p.default as string | number)) problems.push({ field: `${field}.default`, code: 'invalid_default', message: 'the default must be one of the allowed values (enum)' });
    }
  });
  return problems;
}

export function fitsType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    default:
      return value !== null && typeof value === 'object' && !Array.isArray(value);
  }
}

interface Placed {
  section: Section;
  index: number;
  node: NodeInput;
  field: string;
}

function nodeProblems(spec: TemplateSpecInput): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const placed: Placed[] = SECTIONS.flatMap((section) => (spec[section] ?? []).map((node, index) => ({ section, index, node, field: `${section}.${index}` })));
  const sectionOf = new Map<string, Section>();
  for (const p of placed) {
    if (sectionOf.has(p.node.id)) problems.push({ nodeId: p.node.id, field: `${p.field}.id`, code: 'duplicate_id', message: `node id "${p.node.id}" is used more than once` });
    else sectionOf.set(p.node.id, p.section);
  }
  const ancestors = new Map<string, Set<string>>();
  for (const section of SECTIONS) {
    const nodes = spec[section] ?? [];
    for (const [id, found] of ancestorsOf(nodes)) ancestors.set(id, found);
    for (const cycle of findCycles(nodes)) {
      const first = placed.find((p) => p.section === section && p.node.id === cycle[0])!;
      const message = cycle.length === 2 ? `node "${cycle[0]}" depends on itself` : `dependency cycle: ${cycle.join(' → ')}`;
      problems.push({ nodeId: cycle[0], field: `${first.field}.dependsOn`, code: 'cycle', message });
    }
  }
  const parameters = new Map((spec.parameters ?? []).map((p) => [p.name, p]));
  const mainIds = (spec.nodes ?? []).map((n) => n.id);
  for (const p of placed) {
    problems.push(...dependencyProblems(p, sectionOf));
    const known = STEP_TYPES.includes(p.node.type as StepTypeName);
    if (!known) problems.push({ nodeId: p.node.id, field: `${p.field}.type`, code: 'unknown_step_type', message: `unknown step type "${p.node.type}"; known types: ${STEP_TYPES.join(', ')}` });
    // Cleanup sections run after the main nodes have ended, so they may read those too.
    const readable = new Set([...(ancestors.get(p.node.id) ?? []), ...(p.section === 'nodes' ? [] : mainIds)]);
    const scope = new Scope(p, readable, sectionOf, parameters, placed);
    problems.push(...scope.expressionProblems(), ...settingProblems(p));
    const unavailable = known ? STEP_TYPE_DEFINITIONS[p.node.type as StepTypeName].unavailable : undefined;
    if (unavailable) problems.push({ nodeId: p.node.id, field: `${p.field}.type`, code: 'step_type_unavailable', message: `step type "${p.node.type}" is ${unavailable}` });
    if (known) problems.push(...inputProblems(p, p.node.type as StepTypeName));
  }
  return problems;
}

function dependencyProblems(p: Placed, sectionOf: Map<string, Section>): TemplateProblem[] {
  return (p.node.dependsOn ?? []).flatMap((dep, i): TemplateProblem[] => {
    const field = `${p.field}.dependsOn.${i}`;
    const where = sectionOf.get(dep);
    if (where === undefined) return [{ nodeId: p.node.id, field, code: 'unknown_dependency', message: `depends on "${dep}", which is no node of this template` }];
    if (where !== p.section) {
      return [{ nodeId: p.node.id, field, code: 'cross_section_dependency', message: `depends on "${dep}" of ${where}; a node of ${p.section} depends only on nodes of ${p.section}` }];
    }
    return [];
  });
}

function settingProblems(p: Placed): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const say = (field: string, code: string, message: string) => problems.push({ nodeId: p.node.id, field: `${p.field}.${field}`, code, message });
  const ms = (d: string | undefined) => (d === undefined ? undefined : parseDuration(d));
  const timeout = ms(p.node.timeout);
  if (timeout !== undefined && (timeout <= 0 || timeout > MAX_TIMEOUT_MS)) say('timeout', 'invalid_timeout', 'must be more than 0 and at most 30 days');
  const retry = p.node.retry;
  if (retry) {
    const backoff = ms(retry.backoff);
    const most = ms(retry.maxBackoff);
    if (backoff !== undefined && (backoff <= 0 || backoff > MAX_BACKOFF_MS)) say('retry.backoff', 'invalid_retry', 'must be more than 0 and at most 1 day');
    if (most !== undefined && (most <= 0 || most > MAX_BACKOFF_MS)) say('retry.maxBackoff', 'invalid_retry', 'must be more than 0 and at most 1 day');
    if (backoff !== undefined && most !== undefined && most < backoff) say('retry.maxBackoff', 'invalid_retry', 'must not be shorter than backoff');
    if (retry.attempts === 1 && (retry.backoff || retry.maxBackoff || retry.backoffCoefficient)) say('retry', 'invalid_retry', 'a backoff needs more than 1 attempt');
  }
  if (p.node.forEach && Array.isArray(p.node.forEach.items) && p.node.forEach.items.length === 0) say('forEach.items', 'invalid_for_each', 'a literal list must hold at least one item');
  return problems;
}

/** What an expression of one node may read, and the sample values its types are checked against. */
class Scope {
  private readonly problems: TemplateProblem[] = [];
  private item: { known: boolean; value?: unknown } = { known: false };

  constructor(
    private readonly p: Placed,
    private readonly readable: Set<string>,
    private readonly sectionOf: Map<string, Section>,
    private readonly parameters: Map<string, ParameterInput>,
    private readonly placed: Placed[],
  ) {}

  expressionProblems(): TemplateProblem[] {
    const { node } = this.p;
    const items = node.forEach?.items;
    if (typeof items === 'string') {
      const value = this.check(items, 'forEach.items', false);
      if (value !== undefined && !Array.isArray(value)) this.say('forEach.items', 'type_error', `must give a list, gives ${kindOf(value)}`);
      if (Array.isArray(value) && value.length) this.item = { known: true, value: value[0] };
    } else if (Array.isArray(items)) {
      this.item = items.length ? { known: true, value: items[0] } : { known: false };
    }
    if (node.when !== undefined) {
      const value = this.check(node.when, 'when', true);
      if (value !== undefined && typeof value !== 'boolean') this.say('when', 'type_error', `must be a boolean condition, gives ${kindOf(value)}`);
    }
    for (const ref of findReferences(node.inputs)) {
      const field = ['inputs', ...ref.path].join('.');
      if (!ref.expression) this.say(field, 'expression_syntax', 'is an empty ${{ }} reference');
      else this.check(ref.expression, field, true);
    }
    return this.problems;
  }

  /** Reports the expression's problems; answers its sample value when a dry run gives one. */
  private check(expression: string, field: string, itemInScope: boolean): unknown {
    const syntax = celSyntax(expression);
    if (!syntax.ok) {
      const hint = /^\s*\$\{\{/.test(expression) ? ' (write the expression without ${{ }})' : '';
      this.say(field, 'expression_syntax', `${syntax.message}${hint}`);
      return undefined;
    }
    const names = celNames(expression)!;
    const underForEach = itemInScope && this.p.node.forEach !== undefined;
    let sound = true;
    for (const variable of names.variables) {
      if (variable === 'parameters' || variable === 'steps') continue;
      if ((variable === 'item' || variable === 'index') && underForEach) continue;
      sound = false;
      const message =
        variable === 'item' || variable === 'index'
          ? `reads ${variable}, which exists only in a node with forEach (and not in forEach.items)`
          : `reads "${variable}"; an expression reads parameters, steps${itemInScope ? ' and, under forEach, item and index' : ''}`;
      this.say(field, 'unknown_variable', message);
    }
    for (const [root, name] of names.selections) {
      if (root === 'parameters' && !this.parameters.has(name)) {
        sound = false;
        this.say(field, 'unknown_parameter', `reads parameters.${name}, which the template does not declare`);
      }
      if (root === 'steps' && !this.readable.has(name)) {
        sound = false;
        if (!this.sectionOf.has(name)) this.say(field, 'unknown_step', `reads steps.${name}, which is no node of this template`);
        else if (name === this.p.node.id) this.say(field, 'not_a_dependency', `reads steps.${name}, its own node, which has not ended when it is read`);
        else this.say(field, 'not_a_dependency', `reads steps.${name}, which is not among its dependencies (direct or through others): add "${name}" to dependsOn`);
      }
    }
    const readsItem = names.variables.includes('item');
    if (!sound || (readsItem && !this.item.known)) return undefined;
    const result = celDryRun(expression, this.bindings(itemInScope));
    if (result.kind === 'type-error') this.say(field, 'type_error', result.message);
    return result.kind === 'value' ? result.value : undefined;
  }

  private bindings(itemInScope: boolean): Record<string, unknown> {
    const parameters = Object.fromEntries([...this.parameters.values()].map((p) => [p.name, p.default !== undefined && fitsType(p.default, p.type) ? p.default : sampleOfType(p.type, p.enum)]));
    const steps = Object.fromEntries(
      [...this.readable].map((id) => {
        const type = this.placed.find((q) => q.node.id === id)?.node.type;
        const definition = STEP_TYPES.includes(type as StepTypeName) ? STEP_TYPE_DEFINITIONS[type as StepTypeName] : undefined;
        return [id, { status: 'succeeded', outputs: definition ? sampleOf(outputSchemaOf(definition.output)) : {} }];
      }),
    );
    const out: Record<string, unknown> = { parameters, steps };
    if (itemInScope && this.item.known) Object.assign(out, { item: this.item.value, index: 0 });
    return out;
  }

  private say(field: string, code: string, message: string) {
    this.problems.push({ nodeId: this.p.node.id, field: `${this.p.field}.${field}`, code, message });
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

/** Values as a run binds them: JSON numbers are CEL doubles, whatever the parameter's declared type. */
function sampleOfType(type: string, allowed?: readonly (string | number)[]): unknown {
  if (allowed?.length) return allowed[0];
  return { string: 'sample', number: 1, integer: 1, boolean: true, array: [], object: {} }[type] ?? null;
}

const outputSchemas = new Map<z.ZodType, Record<string, unknown>>();
function outputSchemaOf(schema: z.ZodType): Record<string, unknown> {
  let found = outputSchemas.get(schema);
  if (!found) outputSchemas.set(schema, (found = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>));
  return found;
}

function sampleOf(schema: Record<string, unknown>): unknown {
  const variants = (schema.anyOf ?? schema.oneOf) as Record<string, unknown>[] | undefined;
  if (variants) return sampleOf(variants.find((v) => v.type !== 'null') ?? variants[0]);
  switch (schema.type) {
    case 'object':
      return Object.fromEntries(Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>).map(([k, v]) => [k, sampleOf(v)]));
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'null':
      return null;
    default:
      return {};
  }
}

/** The step type's own zod check of the inputs, less what a reference will only decide at run time. */
function inputProblems(p: Placed, type: StepTypeName): TemplateProblem[] {
  const result = STEP_TYPE_DEFINITIONS[type].input.safeParse(p.node.inputs);
  if (result.success) return [];
  return relevantIssues(result.error.issues, p.node.inputs, []).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = [p.field, 'inputs', ...issue.path.map(String), ...keys.slice(0, 1)].join('.');
    const message =
      issue.code === 'unrecognized_keys'
        ? `${keys.map((k) => `"${k}"`).join(', ')} ${keys.length > 1 ? 'are not inputs' : 'is not an input'} of a ${type} step`
        : issue.code === 'invalid_type' && at(p.node.inputs, issue.path) === undefined
          ? `is required by a ${type} step`
          : issue.message;
    return { nodeId: p.node.id, field, code: 'invalid_input', message };
  });
}

/** Issues that stand whatever the references resolve to; a union stands only when every branch fails for reasons that do. */
function relevantIssues(issues: readonly z.core.$ZodIssue[], inputs: unknown, base: Path): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const raw of issues) {
    const issue = { ...raw, path: [...base, ...raw.path] } as z.core.$ZodIssue;
    if (throughReference(inputs, issue.path)) continue;
    if (issue.code === 'invalid_union' && issue.errors.length) {
      const branches = issue.errors.map((branch) => relevantIssues(branch, inputs, issue.path));
      if (branches.some((b) => b.length === 0)) continue;
      out.push(...branches.reduce((a, b) => (b.length < a.length ? b : a)));
      continue;
    }
    out.push(issue);
  }
  return out;
}

function throughReference(inputs: unknown, path: Path): boolean {
  let value = inputs;
  for (const key of [undefined, ...path]) {
    if (key !== undefined) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof value === 'string' && HAS_REFERENCE.test(value)) return true;
  }
  return false;
}

function at(value: unknown, path: Path): unknown {
  let v = value;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

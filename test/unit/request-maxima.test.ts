import { buildDocument } from '../../api/docs';
import { modules } from '../../api/modules';
import { commandFits, COMMAND_PAYLOAD_LIMIT_BYTES, jsonSizeBytes, TEMPORAL_PAYLOAD_LIMIT_BYTES } from '../../domain/payload-limits';
import { createPromotionSchema } from '../../domain/promotions/requests';

/**
 * Every string, array and free-form object a request body may hold has a
 * maximum the OpenAPI document states: a value without one (a 480,000-digit
 * change number) could ride a workflow past Temporal's payload limit and
 * strand its record. Strings whose format bounds them (uuid) and the raw
 * artifact upload (its own byte limit) are the only ones without maxLength.
 */
const routers = modules.map((m) => m());
type Schema = Record<string, any>;

function unbounded(doc: Schema): string[] {
  const components: Record<string, Schema> = doc.components?.schemas ?? {};
  const found: string[] = [];
  const walk = (s: Schema | undefined, where: string, seen: Set<string>): void => {
    if (!s || typeof s !== 'object') return;
    if (s.$ref) {
      const name = String(s.$ref).split('/').pop()!;
      if (seen.has(name)) return;
      return walk(components[name], `${where}→${name}`, new Set([...seen, name]));
    }
    for (const k of ['allOf', 'anyOf', 'oneOf']) for (const part of s[k] ?? []) walk(part, where, seen);
    const types: unknown[] = Array.isArray(s.type) ? s.type : [s.type];
    const bounded = s.maxLength !== undefined || s.enum || s.const !== undefined || s.format === 'uuid' || s.format === 'binary';
    if (types.includes('string') && !bounded) found.push(`string ${where}`);
    if (types.includes('array')) {
      if (s.maxItems === undefined) found.push(`array ${where}`);
      walk(s.items, `${where}[]`, seen);
    }
    for (const [key, value] of Object.entries<Schema>(s.properties ?? {})) walk(value, `${where}.${key}`, seen);
    for (const value of Object.values<Schema>(s.patternProperties ?? {})) walk(value, `${where}.*`, seen);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      if (s.maxProperties === undefined) found.push(`object ${where}`);
      walk(s.additionalProperties, `${where}.*`, seen);
    }
  };
  for (const [path, operations] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(operations)) {
      for (const [type, content] of Object.entries<Schema>(op.requestBody?.content ?? {})) walk(content.schema, `${method} ${path} ${type}`, new Set());
    }
  }
  return found;
}

test.each(['/api/v1', '/prod/api'])('every string, array and map in a request body of %s states its maximum', (prefix) => {
  expect(unbounded(buildDocument(routers, prefix))).toEqual([]);
});

/**
 * The most a body can weigh as JSON once parsed and encoded again, from what the document states: every string at
 * its maximum with every character needing a six-byte escape, every array full, every optional field present.
 */
function worstJsonBytes(components: Record<string, Schema>, s: Schema | undefined): number {
  if (!s) return Infinity;
  if (s.$ref) return worstJsonBytes(components, components[String(s.$ref).split('/').pop()!]);
  const alternatives = [...(s.anyOf ?? []), ...(s.oneOf ?? [])];
  if (alternatives.length) return Math.max(...alternatives.map((a: Schema) => worstJsonBytes(components, a)));
  if (s.enum) return Math.max(...s.enum.map((v: unknown) => JSON.stringify(v).length));
  if (s.const !== undefined) return JSON.stringify(s.const).length;
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  // allOf parts only narrow what the typed schema beside them allows.
  if (!types.length) return s.allOf ? Math.min(...s.allOf.map((a: Schema) => worstJsonBytes(components, a))) : Infinity;
  const sizeOf = (type: string): number => {
    if (type === 'null') return 4;
    if (type === 'boolean') return 5;
    if (type === 'integer' || type === 'number') return 24;
    if (type === 'string') return s.format === 'uuid' ? 38 : (s.maxLength ?? Infinity) * 6 + 2;
    if (type === 'array') return 2 + (s.maxItems ?? Infinity) * (worstJsonBytes(components, s.items) + 1);
    if (type !== 'object') return Infinity;
    let bytes = 2;
    for (const [key, value] of Object.entries<Schema>(s.properties ?? {})) bytes += JSON.stringify(key).length + 2 + worstJsonBytes(components, value);
    const extra = typeof s.additionalProperties === 'object' ? s.additionalProperties : Object.values<Schema>(s.patternProperties ?? {})[0];
    if (extra) bytes += (s.maxProperties ?? Infinity) * (64 * 6 + 4 + worstJsonBytes(components, extra));
    return bytes;
  };
  return Math.max(...types.map(sizeOf));
}

/** Operations whose body becomes a workflow's command (api/workflow-commands.ts). */
const WORKFLOW_COMMANDS = [
  'createChange', 'patchChange', 'submitChangeToCab', 'reviewChange', 'approveChange', 'rejectChange', 'cancelChange',
  'createPromotion', 'approvePromotion', 'rejectPromotion', 'cancelPromotion',
  'cancelDeploymentJob', 'abortDeploymentJob', 'retryDeploymentTask', 'rollbackDeploymentJob', 'skipDeploymentTask',
];

test('every workflow command at its worst fits Temporal’s payload limit twice over (an activity may carry it before and after)', () => {
  const doc: Schema = buildDocument(routers, '/api/v1');
  const sizes: Record<string, number> = Object.fromEntries(
    Object.values<Schema>(doc.paths)
      .flatMap((operations) => Object.values<Schema>(operations))
      .filter((op) => WORKFLOW_COMMANDS.includes(op.operationId))
      .map((op) => [op.operationId, worstJsonBytes(doc.components.schemas, op.requestBody?.content?.['application/json']?.schema)]),
  );
  expect(Object.keys(sizes).sort()).toEqual([...WORKFLOW_COMMANDS].sort());
  for (const [operation, bytes] of Object.entries(sizes)) expect([operation, bytes * 2 < TEMPORAL_PAYLOAD_LIMIT_BYTES]).toEqual([operation, true]);
  // A promotion, which repeats its change number in gates, decisions and evidence, stays small even so.
  expect(sizes.createPromotion).toBeLessThan(16 * 1024);
});

test('a promotion’s change number is refused past its maximum, naming the field and the limit', () => {
  const result = createPromotionSchema.safeParse({ releaseId: crypto.randomUUID(), targetEnvironmentId: crypto.randomUUID(), changeId: `CHG${'1'.repeat(480_000)}` });
  expect(result.success).toBe(false);
  expect(result.error!.issues).toContainEqual(expect.objectContaining({ path: ['changeId'], code: 'too_big', maximum: 21 }));
});

test('the command ceiling leaves a workflow room below Temporal’s payload limit', () => {
  expect(COMMAND_PAYLOAD_LIMIT_BYTES * 4).toBeLessThanOrEqual(TEMPORAL_PAYLOAD_LIMIT_BYTES);
  // A promotion carries its change number in its state, gate results, decision record and evidence: the longest one costs little.
  const longest = `CHG${'9'.repeat(18)}`;
  expect(createPromotionSchema.safeParse({ releaseId: crypto.randomUUID(), targetEnvironmentId: crypto.randomUUID(), reason: 'hotfix', changeId: longest }).success).toBe(true);
  expect(jsonSizeBytes({ changeId: longest }) * 10).toBeLessThan(1024);
  expect(commandFits([{ note: 'x'.repeat(COMMAND_PAYLOAD_LIMIT_BYTES - 100) }])).toBe(true);
  expect(commandFits([{ note: 'é'.repeat(COMMAND_PAYLOAD_LIMIT_BYTES / 2) }])).toBe(false);
});

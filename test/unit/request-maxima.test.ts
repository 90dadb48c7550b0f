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

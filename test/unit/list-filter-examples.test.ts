import { buildDocument, DOCUMENT_PATHS } from '../../api/docs';
import { modules } from '../../api/modules';

/**
 * Swagger UI's "Try it out" fills every parameter that has an example, so a
 * filter with one turns a newcomer's first list into an empty page filtered
 * by a made-up value. Query parameters say what they take in their
 * description instead; bodies keep their examples.
 */
type Parameter = { name: string; in: string; example?: unknown; examples?: unknown; schema?: { example?: unknown; examples?: unknown } };
type Document = { paths: Record<string, Record<string, { parameters?: Parameter[] }>> };

const routers = modules.map((router) => router());
const documents = DOCUMENT_PATHS.map((at) => [at, buildDocument(routers, at.slice(0, -'/openapi.json'.length)) as unknown as Document] as const);

test.each(documents)('no query parameter in %s carries an example', (_, doc) => {
  const withExamples: string[] = [];
  let queries = 0;
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const param of operation.parameters ?? []) {
        if (param.in !== 'query') continue;
        queries++;
        const shown = [param.example, param.examples, param.schema?.example, param.schema?.examples].some((v) => v !== undefined);
        if (shown) withExamples.push(`${method.toUpperCase()} ${path} ?${param.name}`);
      }
    }
  }
  expect(queries).toBeGreaterThan(20);
  expect(withExamples).toEqual([]);
});

test('bodies keep their examples', () => {
  const [, stella] = documents[0];
  const components = (stella as unknown as { components: { schemas: Record<string, { example?: unknown }> } }).components.schemas;
  expect(components.ChangeCreate.example).toBeDefined();
});

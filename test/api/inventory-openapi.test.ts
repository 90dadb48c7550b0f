import { startTestApp, type TestApp } from '../support/app';

/** Both OpenAPI documents cover every inventory route with exactly the statuses it answers (schemathesis in test/contract holds them to it). */
let app: TestApp;
let stella: any;
let stackflow: any;
beforeAll(async () => {
  app = await startTestApp({ worker: false });
  stella = (await app.http('GET', '/api/v1/openapi.json')).body;
  stackflow = (await app.http('GET', '/prod/api/openapi.json')).body;
});
afterAll(() => app?.close());

const AUTH = ['401', '429', '503'];
const BODY = ['400', '408', '413', '415'];
const LIST = ['200', '400', '403', ...AUTH];
const READ = ['200', '400', '403', '404', ...AUTH];
const DELETE = ['204', '400', '403', '404', ...AUTH];

const ROUTES: Array<[string, string, string, string[]]> = [
  ['get', '/environments', 'listEnvironments', LIST],
  ['post', '/environments', 'createEnvironment', ['201', ...BODY, '403', '409', ...AUTH]],
  ['get', '/environments/{id}', 'getEnvironment', READ],
  ['put', '/environments/{id}', 'updateEnvironment', ['200', ...BODY, '403', '404', '409', ...AUTH]],
  ['patch', '/environments/{id}', 'patchEnvironment', ['200', ...BODY, '403', '404', '409', ...AUTH]],
  ['delete', '/environments/{id}', 'deleteEnvironment', [...DELETE, '409']],
  ['post', '/environments/{envId}/freeze-windows', 'createFreezeWindow', ['201', ...BODY, '403', '404', ...AUTH]],
  ['get', '/environments/{envId}/freeze-windows', 'listFreezeWindows', READ],
  ['delete', '/environments/{envId}/freeze-windows/{windowId}', 'deleteFreezeWindow', DELETE],
  ['get', '/pipelines', 'listPipelines', LIST],
  ['post', '/pipelines', 'createPipeline', ['201', ...BODY, '403', '409', '422', ...AUTH]],
  ['get', '/pipelines/{id}', 'getPipeline', READ],
  ['put', '/pipelines/{id}', 'updatePipeline', ['200', ...BODY, '403', '404', '409', '422', ...AUTH]],
  ['delete', '/pipelines/{id}', 'deletePipeline', [...DELETE, '409']],
  ['get', '/targets', 'listTargets', LIST],
  ['post', '/targets', 'createTarget', ['201', ...BODY, '403', '409', '422', ...AUTH]],
  ['get', '/targets/{id}', 'getTarget', READ],
  ['put', '/targets/{id}', 'updateTarget', ['200', ...BODY, '403', '404', '409', '422', ...AUTH]],
  ['patch', '/targets/{id}', 'patchTarget', ['200', ...BODY, '403', '404', '409', '422', ...AUTH]],
  ['delete', '/targets/{id}', 'deleteTarget', DELETE],
  ['get', '/targets/{id}/sticker', 'getTargetSticker', READ],
  ['get', '/targets/{id}/drift', 'getTargetDrift', READ],
  ['post', '/targets/{id}/health-check', 'checkTargetHealth', ['200', ...BODY, '403', '404', '422', ...AUTH]],
  ['get', '/components', 'listComponents', LIST],
  ['post', '/components', 'createComponent', ['201', ...BODY, '403', '409', '422', ...AUTH]],
  ['get', '/components/{id}', 'getComponent', READ],
  ['put', '/components/{id}', 'updateComponent', ['200', ...BODY, '403', '404', '409', '422', ...AUTH]],
  ['delete', '/components/{id}', 'deleteComponent', [...DELETE, '409']],
  ['post', '/components/{id}/sync-versions', 'syncComponentVersions', ['200', ...BODY, '403', '404', '422', '502', '504', ...AUTH]],
  ['get', '/components/{id}/versions', 'listComponentVersions', READ],
  ['get', '/releases', 'listReleases', LIST],
  ['post', '/releases', 'createRelease', ['201', ...BODY, '403', '409', '422', ...AUTH]],
  ['post', '/releases/from-latest', 'createReleaseFromLatest', ['201', ...BODY, '403', '409', '422', ...AUTH]],
  ['get', '/releases/{id}', 'getRelease', READ],
  ['put', '/releases/{id}', 'updateRelease', ['200', ...BODY, '403', '404', ...AUTH]],
  ['delete', '/releases/{id}', 'deleteRelease', [...DELETE, '409']],
  ['get', '/releases/{id}/state', 'getReleaseState', READ],
  ['post', '/releases/{id}/deprecate', 'deprecateRelease', ['200', ...BODY, '403', '404', ...AUTH]],
  ['get', '/releases/{id}/compare/{otherId}', 'compareReleases', READ],
];

test.each([
  ['Stella', '/api/v1'],
  ['StackFlow', '/prod/api'],
])('the %s document lists every inventory route with its operation id and statuses, and no other', (dialect, prefix) => {
  const doc = dialect === 'Stella' ? stella : stackflow;
  for (const [method, path, operationId, statuses] of ROUTES) {
    const op = doc.paths[`${prefix}${path}`]?.[method];
    if (!op) throw new Error(`${method.toUpperCase()} ${prefix}${path} is not in the ${dialect} document`);
    expect([path, op.operationId]).toEqual([path, operationId]);
    expect([path, Object.keys(op.responses).sort()]).toEqual([path, [...new Set(statuses)].sort()]);
  }
  const documented = Object.entries(doc.paths)
    .filter(([p]) => /\/(environments|pipelines|targets|components|releases)\b/.test(p))
    .flatMap(([p, ops]) => Object.keys(ops as object).filter((m) => m !== 'parameters').map((m) => `${m} ${p.slice(prefix.length)}`));
  expect(documented.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
});

test('each dialect documents its own paging, and sorts name the fields they accept', () => {
  const params = (doc: any, path: string) => doc.paths[path].get.parameters.map((p: any) => p.name);
  expect(params(stella, '/api/v1/environments')).toEqual(expect.arrayContaining(['page', 'pageSize', 'sort']));
  expect(params(stella, '/api/v1/environments')).not.toContain('cursor');
  expect(params(stackflow, '/prod/api/environments')).toEqual(expect.arrayContaining(['cursor', 'limit', 'sort']));
  expect(params(stackflow, '/prod/api/environments')).not.toContain('pageSize');
  const sort = stella.paths['/api/v1/releases'].get.parameters.find((p: any) => p.name === 'sort');
  expect(new RegExp(sort.schema.pattern).test('-created_at')).toBe(true);
  expect(new RegExp(sort.schema.pattern).test('version')).toBe(false);
  expect(stackflow.paths['/prod/api/releases'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('next_cursor');
});

test('the PATCH bodies say their merge rules where clients read them: a map key set to null is removed', () => {
  const patch = stella.components.schemas.TargetPatch;
  expect(patch).toMatchObject({ type: 'object', additionalProperties: false });
  expect(patch.required ?? []).toEqual([]);
  expect(Object.keys(patch.properties).sort()).toEqual(Object.keys(stella.components.schemas.TargetInput.properties).sort());
  const [labelKey] = Object.keys(patch.properties.labels.patternProperties);
  expect(patch.properties.labels.patternProperties[labelKey].type).toEqual(['string', 'null']);
  const envPatch = stella.components.schemas.EnvironmentPatch;
  expect(envPatch.required ?? []).toEqual([]);
  expect(Object.keys(envPatch.properties).sort()).toEqual(Object.keys(stella.components.schemas.EnvironmentInput.properties).sort());
  expect(stella.paths['/api/v1/targets/{id}'].patch.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TargetPatch' });
});

test('target labels state their key rule where schema-driven clients read it', () => {
  const labels = stella.components.schemas.TargetInput.properties.labels;
  expect(labels).toMatchObject({ type: 'object', additionalProperties: false, maxProperties: 50 });
  const [keyPattern] = Object.keys(labels.patternProperties);
  expect(new RegExp(keyPattern).test('role')).toBe(true);
  expect(new RegExp(keyPattern).test('bad key!')).toBe(false);
});

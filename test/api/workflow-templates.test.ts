import { startTestApp, type TestApp } from '../support/app';

/**
 * Workflow templates over HTTP: every class of mistake answered at once with
 * node and field (422, nothing saved), versions (PUT makes the next, older
 * ones stay readable), YAML bodies, the step types, and the 403/404/409 paths.
 */
let app: TestApp;
let manager: string;
let viewer: string;
const API = '/api/v1';

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
});
afterAll(() => app?.close());

const ENV = '7f0c1e0a-3b59-4c1e-9d55-2f8f5b0e6a41';
const pipeline = (name: string) => ({
  name,
  description: 'staging, soak, production',
  parameters: [{ name: 'environment', type: 'string', default: ENV }],
  nodes: [
    { id: 'staging', type: 'script', inputs: { environmentId: '${{ parameters.environment }}', command: './deploy.sh' } },
    { id: 'soak', type: 'wait', dependsOn: ['staging'], inputs: { duration: '1h' } },
    { id: 'signoff', type: 'approval', dependsOn: ['soak'], inputs: { approvals: 2, groups: ['release-managers'] } },
  ],
});
const call = (method: string, path: string, body?: unknown, token = manager) => app.http(method, `${API}${path}`, { token, body });
const templateRows = async (name: string) =>
  (await app.pool.query('SELECT count(*)::int AS n FROM workflow_templates WHERE tenant_id = $1 AND lower(name) = lower($2)', [app.tenant, name])).rows[0].n;

test('create answers 201 with version 1 and a Location; GET, list and the versions list show it', async () => {
  const res = await call('POST', '/workflow-templates', pipeline('Release train'));
  expect(res.status).toBe(201);
  expect(res.headers.get('location')).toBe(`${API}/workflow-templates/${res.body.data.id}`);
  expect(res.body.data).toMatchObject({ name: 'Release train', version: 1, latestVersion: 1, createdBy: 'rm@example.com', spec: { nodes: [{ id: 'staging' }, { id: 'soak' }, { id: 'signoff' }] } });
  const id = res.body.data.id;
  expect((await call('GET', `/workflow-templates/${id}`, undefined, viewer)).body.data.spec).toEqual(res.body.data.spec);
  const list = await call('GET', '/workflow-templates?name=release%20TRAIN', undefined, viewer);
  expect(list.body.data).toEqual([expect.objectContaining({ id, name: 'Release train', version: 1 })]);
  expect(list.body.data[0].spec).toBeUndefined();
  expect((await call('GET', `/workflow-templates/${id}/versions`)).body.data).toEqual([expect.objectContaining({ version: 1, name: 'Release train', createdBy: 'rm@example.com' })]);
});

test('PUT makes version 2; ?version=1 still answers version 1, and a version that never was is 404', async () => {
  const id = (await call('POST', '/workflow-templates', pipeline('Versioned'))).body.data.id;
  const edited = { ...pipeline('Versioned v2'), nodes: [...pipeline('x').nodes, { id: 'tell', type: 'notify', dependsOn: ['signoff'], inputs: { url: 'https://hooks.example.com/t', text: 'done' } }] };
  const put = await call('PUT', `/workflow-templates/${id}`, edited);
  expect(put.status).toBe(200);
  expect(put.body.data).toMatchObject({ id, name: 'Versioned v2', version: 2, latestVersion: 2 });
  expect(put.body.data.spec.nodes).toHaveLength(4);
  const current = await call('GET', `/workflow-templates/${id}`);
  expect(current.body.data).toMatchObject({ version: 2, name: 'Versioned v2' });
  const old = await call('GET', `/workflow-templates/${id}?version=1`);
  expect(old.body.data).toMatchObject({ version: 1, latestVersion: 2, name: 'Versioned' });
  expect(old.body.data.spec.nodes).toHaveLength(3);
  expect((await call('GET', `/workflow-templates/${id}/versions`)).body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  const missing = await call('GET', `/workflow-templates/${id}?version=3`);
  expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  const { rows } = await app.pool.query('SELECT version FROM workflow_template_versions WHERE tenant_id = $1 AND template_id = $2 ORDER BY version', [app.tenant, id]);
  expect(rows.map((r) => r.version)).toEqual([1, 2]);
});

test('a YAML body creates the same template; YAML that does not parse is a 400', async () => {
  const yaml = [
    'name: From YAML',
    'parameters:',
    '  - name: environment',
    '    type: string',
    'nodes:',
    '  - id: check',
    '    type: http',
    '    inputs:',
    '      url: https://status.example.com/health',
    '      expectStatus: [200]',
    '  - id: pause',
    '    type: wait',
    '    dependsOn: [check]',
    '    when: steps.check.outputs.status == 200',
    '    inputs: { duration: 30s }',
  ].join('\n');
  for (const type of ['application/yaml', 'application/x-yaml; charset=utf-8']) {
    const res = await app.http('POST', `${API}/workflow-templates`, { token: manager, raw: yaml.replace('From YAML', `From YAML ${type}`), headers: { 'content-type': type } });
    expect([type, res.status]).toEqual([type, 201]);
    expect(res.body.data.spec.nodes[1]).toMatchObject({ id: 'pause', dependsOn: ['check'], inputs: { duration: '30s' } });
  }
  const bad = await app.http('POST', `${API}/workflow-templates`, { token: manager, raw: 'name: [unclosed\nnodes: {', headers: { 'content-type': 'application/yaml' } });
  expect([bad.status, bad.body.error.code]).toEqual([400, 'MALFORMED_YAML']);
  const wrongShape = await app.http('POST', `${API}/workflow-templates`, { token: manager, raw: 'name: only a name', headers: { 'content-type': 'application/yaml' } });
  expect([wrongShape.status, wrongShape.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  expect(wrongShape.body.error.validationErrors).toContainEqual(expect.objectContaining({ field: 'nodes' }));
});

test('every class of mistake at once: 422 TEMPLATE_INVALID naming node and field, and nothing saved', async () => {
  const body = {
    name: 'Broken',
    parameters: [{ name: 'region', type: 'string' }],
    nodes: [
      { id: 'a', type: 'wait', dependsOn: ['c'], inputs: { duration: '1s' } },
      { id: 'b', type: 'wait', dependsOn: ['a'], inputs: { duration: '1s' } },
      { id: 'c', type: 'wait', dependsOn: ['b'], inputs: { duration: '1s' } },
      { id: 'a', type: 'teleport', inputs: {} },
      { id: 'd', type: 'http', dependsOn: ['ghost'], inputs: { url: 'not a url' } },
      { id: 'e', type: 'notify', when: 'parameters.region ==', inputs: { url: 'https://x.example.com', text: '${{ steps.d.outputs.status }} ${{ parameters.zone }}' } },
      { id: 'f', type: 'wait', when: 'parameters.region > 1', inputs: { duration: '1s' } },
    ],
    finally: [{ id: 'g', type: 'wait', dependsOn: ['a'], inputs: { duration: '1s' } }],
  };
  const res = await call('POST', '/workflow-templates', body);
  expect([res.status, res.body.error.code]).toEqual([422, 'TEMPLATE_INVALID']);
  expect(res.body.error.details.problems).toEqual(
    expect.arrayContaining([
      { nodeId: 'a', field: 'nodes.3.id', code: 'duplicate_id', message: 'node id "a" is used more than once' },
      { nodeId: 'a', field: 'nodes.0.dependsOn', code: 'cycle', message: 'dependency cycle: a → b → c → a' },
      expect.objectContaining({ nodeId: 'a', field: 'nodes.3.type', code: 'unknown_step_type' }),
      expect.objectContaining({ nodeId: 'd', field: 'nodes.4.dependsOn.0', code: 'unknown_dependency' }),
      expect.objectContaining({ nodeId: 'd', field: 'nodes.4.inputs.url', code: 'invalid_input' }),
      expect.objectContaining({ nodeId: 'e', field: 'nodes.5.when', code: 'expression_syntax' }),
      expect.objectContaining({ nodeId: 'e', field: 'nodes.5.inputs.text', code: 'not_a_dependency' }),
      expect.objectContaining({ nodeId: 'e', field: 'nodes.5.inputs.text', code: 'unknown_parameter' }),
      expect.objectContaining({ nodeId: 'f', field: 'nodes.6.when', code: 'type_error' }),
      expect.objectContaining({ nodeId: 'g', field: 'finally.0.dependsOn.0', code: 'cross_section_dependency' }),
    ]),
  );
  expect(await templateRows('Broken')).toBe(0);
});

test('more classes over HTTP: item outside forEach, retry/timeout/forEach settings, parameters', async () => {
  const res = await call('POST', '/workflow-templates', {
    name: 'Broken settings',
    parameters: [{ name: 'count', type: 'integer', default: 'three' }],
    nodes: [
      { id: 'a', type: 'notify', inputs: { url: 'https://x.example.com', text: '${{ item }}' } },
      { id: 'b', type: 'wait', timeout: '0s', retry: { attempts: 3, backoff: '1m', maxBackoff: '1s' }, forEach: { items: 'parameters.count' }, inputs: { duration: '1s' } },
    ],
  });
  expect([res.status, res.body.error.code]).toEqual([422, 'TEMPLATE_INVALID']);
  expect(res.body.error.details.problems.map((p: { nodeId?: string; field: string; code: string }) => [p.nodeId ?? null, p.field, p.code])).toEqual([
    [null, 'parameters.0.default', 'invalid_default'],
    ['a', 'nodes.0.inputs.text', 'unknown_variable'],
    ['b', 'nodes.1.forEach.items', 'type_error'],
    ['b', 'nodes.1.timeout', 'invalid_timeout'],
    ['b', 'nodes.1.retry.maxBackoff', 'invalid_retry'],
  ]);
});

test('a YAML alias bomb is refused with a 400, and aliases expanding past the body limit with a 413', async () => {
  const laughs = ['name: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`), 'nodes: *i'].join('\n');
  const bomb = await app.http('POST', `${API}/workflow-templates`, { token: manager, raw: laughs, headers: { 'content-type': 'application/yaml' } });
  expect([bomb.status, bomb.body.error.code]).toEqual([400, 'MALFORMED_YAML']);
  const wide = `big: &big "${'x'.repeat(200_000)}"\nname: wide\nnodes: [${Array(20).fill('*big').join(', ')}]`;
  const expanded = await app.http('POST', `${API}/workflow-templates`, { token: manager, raw: wide, headers: { 'content-type': 'application/yaml' } });
  expect([expanded.status, expanded.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
});

test('a PUT with problems is refused and the template stays at its version', async () => {
  const id = (await call('POST', '/workflow-templates', pipeline('Kept'))).body.data.id;
  const res = await call('PUT', `/workflow-templates/${id}`, { name: 'Kept', nodes: [{ id: 'x', type: 'wait', inputs: { duration: 'soon' } }] });
  expect([res.status, res.body.error.code]).toEqual([422, 'TEMPLATE_INVALID']);
  expect(res.body.error.details.problems).toEqual([{ nodeId: 'x', field: 'nodes.0.inputs.duration', code: 'invalid_input', message: 'must be a duration such as 30s, 5m or 1h30m' }]);
  expect((await call('GET', `/workflow-templates/${id}`)).body.data.version).toBe(1);
});

test('validate: the stored template, or a candidate, answered 200 with every problem; nothing saved', async () => {
  const id = (await call('POST', '/workflow-templates', pipeline('To validate'))).body.data.id;
  const stored = await app.http('POST', `${API}/workflow-templates/${id}/validate`, { token: viewer });
  expect([stored.status, stored.body.data]).toEqual([200, { valid: true, problems: [] }]);
  const candidate = await call('POST', `/workflow-templates/${id}/validate`, { name: 'To validate', nodes: [{ id: 'a', type: 'wait', dependsOn: ['a'], inputs: { duration: '1s' } }] }, viewer);
  expect([candidate.status, candidate.body.data]).toEqual([200, { valid: false, problems: [{ nodeId: 'a', field: 'nodes.0.dependsOn', code: 'cycle', message: 'node "a" depends on itself' }] }]);
  const yaml = await app.http('POST', `${API}/workflow-templates/${id}/validate`, { token: viewer, raw: 'name: y\nnodes:\n  - id: a\n    type: nope\n', headers: { 'content-type': 'application/yaml' } });
  expect(yaml.body.data.problems).toEqual([expect.objectContaining({ nodeId: 'a', code: 'unknown_step_type' })]);
  expect((await call('GET', `/workflow-templates/${id}`)).body.data.version).toBe(1);
});

test('a duplicate name is 409, case-insensitively; after a delete the name is free again', async () => {
  const first = await call('POST', '/workflow-templates', pipeline('Unique name'));
  const again = await call('POST', '/workflow-templates', pipeline('UNIQUE NAME'));
  expect([again.status, again.body.error.code]).toEqual([409, 'ALREADY_EXISTS']);
  const other = (await call('POST', '/workflow-templates', pipeline('Other name'))).body.data.id;
  const rename = await call('PUT', `/workflow-templates/${other}`, pipeline('unique name'));
  expect([rename.status, rename.body.error.code]).toEqual([409, 'ALREADY_EXISTS']);
  expect((await call('DELETE', `/workflow-templates/${first.body.data.id}`)).status).toBe(204);
  expect((await call('POST', '/workflow-templates', pipeline('Unique name'))).status).toBe(201);
});

test('delete is soft: the template is gone for the API, its versions stay for the runs that use them', async () => {
  const id = (await call('POST', '/workflow-templates', pipeline('Doomed'))).body.data.id;
  expect((await call('DELETE', `/workflow-templates/${id}`)).status).toBe(204);
  for (const [method, path, body] of [
    ['GET', `/workflow-templates/${id}`],
    ['PUT', `/workflow-templates/${id}`, pipeline('Doomed')],
    ['DELETE', `/workflow-templates/${id}`],
    ['POST', `/workflow-templates/${id}/validate`],
    ['GET', `/workflow-templates/${id}/versions`],
  ] as const) {
    const res = await call(method, path, body);
    expect([method, path, res.status]).toEqual([method, path, 404]);
  }
  const { rows } = await app.pool.query('SELECT version FROM workflow_template_versions WHERE tenant_id = $1 AND template_id = $2', [app.tenant, id]);
  expect(rows).toEqual([{ version: 1 }]);
  expect((await call('GET', '/workflow-templates?name=Doomed')).body.data).toEqual([]);
});

test('403: reading needs template:read, writing template:write, naming the permission', async () => {
  const developer = await app.token('dev@example.com', { roles: ['developer'] });
  const id = (await call('POST', '/workflow-templates', pipeline('Guarded'))).body.data.id;
  for (const [method, path, body] of [
    ['POST', '/workflow-templates', pipeline('Not mine')],
    ['PUT', `/workflow-templates/${id}`, pipeline('Guarded')],
    ['DELETE', `/workflow-templates/${id}`],
  ] as const) {
    const res = await call(method, path, body, developer);
    expect([method, res.status, res.body.error.details?.required]).toEqual([method, 403, 'template:write']);
  }
  const stranger = await app.token('agent-registrar@example.com', { roles: ['agent-registrar'] });
  for (const path of ['/workflow-templates', `/workflow-templates/${id}`, '/step-types', '/step-types/http']) {
    const res = await call('GET', path, undefined, stranger);
    expect([path, res.status, res.body.error.details?.required]).toEqual([path, 403, 'template:read']);
  }
  expect(await templateRows('Not mine')).toBe(0);
});

test('another tenant’s template is 404', async () => {
  const id = (await call('POST', '/workflow-templates', pipeline('Tenant bound'))).body.data.id;
  const outsider = await app.token('rm@example.com', { roles: ['release-manager'], tenant: `${app.tenant}-other` });
  expect((await call('GET', `/workflow-templates/${id}`, undefined, outsider)).status).toBe(404);
  expect((await call('PUT', `/workflow-templates/${id}`, pipeline('Tenant bound'), outsider)).status).toBe(404);
});

test('step types: each with description, runsOn and its input and output as JSON Schema; an unknown type is 404', async () => {
  const list = await call('GET', '/step-types', undefined, viewer);
  expect(list.body.data.map((t: { type: string }) => t.type)).toEqual(['script', 'http', 'wait', 'approval', 'gate', 'promote', 'deploy', 'change-request', 'rollout', 'notify']);
  const http = await call('GET', '/step-types/http', undefined, viewer);
  expect(http.body.data).toMatchObject({
    type: 'http',
    runsOn: 'activity',
    description: expect.stringContaining('URL'),
    input: { type: 'object', properties: { url: { type: 'string', maxLength: 2048 } }, required: ['url'], additionalProperties: false },
    output: { type: 'object', properties: { status: { type: 'integer' } } },
    available: true,
    unavailable: null,
  });
  const rollout = await call('GET', '/step-types/rollout', undefined, viewer);
  expect(rollout.body.data).toMatchObject({ type: 'rollout', runsOn: 'child', available: true, unavailable: null });
  const missing = await call('GET', '/step-types/teleport', undefined, viewer);
  expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
});

test('StackFlow serves the same templates bare', async () => {
  const res = await app.http('POST', '/prod/api/workflow-templates', { token: manager, body: pipeline('StackFlow form') });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ name: 'StackFlow form', version: 1 });
  const list = await app.http('GET', '/prod/api/workflow-templates?limit=1', { token: manager });
  expect(list.body).toMatchObject({ data: [expect.objectContaining({ name: 'StackFlow form' })], next_cursor: expect.any(String) });
});

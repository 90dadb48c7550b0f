import { celDryRun, celNames, celSyntax } from '../../domain/cel';
import { ancestorsOf, findCycles } from '../../domain/templates/dag';
import { validateTemplate, type TemplateProblem } from '../../domain/templates/validate';

/** Each class of mistake an author can make in a template, reported with the node and field it concerns. */

const ENV = '7f0c1e0a-3b59-4c1e-9d55-2f8f5b0e6a41';
const wait = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'wait', inputs: { duration: '1s' }, ...extra });
const template = (nodes: unknown[], extra: Record<string, unknown> = {}) => ({ name: 'pipeline', nodes, ...extra });

function problems(body: unknown): TemplateProblem[] {
  const result = validateTemplate(body);
  if (result.ok) throw new Error('expected problems');
  return result.problems;
}

test('a sound template passes, with references, a when, forEach and retry', () => {
  const result = validateTemplate(
    template(
      [
        { id: 'build', type: 'http', inputs: { url: 'https://ci.example.com/build', method: 'POST' }, retry: { attempts: 3, backoff: '5s' }, timeout: '10m' },
        { id: 'deploy', type: 'script', dependsOn: ['build'], inputs: { environmentId: '${{ parameters.env }}', command: 'deploy ${{ steps.build.outputs.body }}' } },
        { id: 'check', type: 'http', dependsOn: ['deploy'], when: 'steps.build.outputs.status == 200 && parameters.region != ""', inputs: { url: 'https://${{ item }}.example.com' }, forEach: { items: 'parameters.regions', concurrency: 5 } },
        { id: 'fan', type: 'wait', dependsOn: ['check'], forEach: { items: ['a', 'b'] }, inputs: { duration: '${{ item == "a" ? "1s" : "2s" }}' } },
      ],
      {
        parameters: [
          { name: 'env', type: 'string', default: ENV },
          { name: 'region', type: 'string', enum: ['eu', 'us'] },
          { name: 'regions', type: 'array', default: ['eu', 'us'] },
        ],
        finally: [{ id: 'tell', type: 'notify', inputs: { url: 'https://hooks.example.com/x', text: 'done: ${{ steps.deploy.status }}' } }],
      },
    ),
  );
  expect(result).toMatchObject({ ok: true, spec: { name: 'pipeline' } });
});

test('change-request and rollout nodes are runnable: their inputs are judged like any step type’s', () => {
  expect(validateTemplate(template([wait('soak'), { id: 'cab', type: 'change-request', dependsOn: ['soak'], inputs: { title: 'Ship 2.0' } }]))).toMatchObject({ ok: true });
  expect(validateTemplate(template([{ id: 'canary', type: 'rollout', inputs: { rolloutId: '7f0c1e0a-3b59-4c1e-9d55-2f8f5b0e6a41' } }]))).toMatchObject({ ok: true });
  expect(problems(template([{ id: 'canary', type: 'rollout', inputs: { rolloutId: 'nope' } }]))).toEqual([expect.objectContaining({ nodeId: 'canary', field: 'nodes.0.inputs.rolloutId' })]);
});

test('the shape: every field that does not fit is reported, with the node id where there is one', () => {
  const found = problems(template([{ id: '1bad', type: 'wait', inputs: {} }, { id: 'ok', type: 'wait', inputs: {}, retry: { attempts: 0 }, surprise: true }]));
  expect(found).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ field: 'nodes.0.id', nodeId: '1bad' }),
      expect.objectContaining({ field: 'nodes.1.retry.attempts', nodeId: 'ok', code: 'too_small' }),
      expect.objectContaining({ field: 'nodes.1.surprise', nodeId: 'ok', code: 'unknown_field' }),
    ]),
  );
  expect(problems({ nodes: 'x' })).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'nodes' })]));
});

test('duplicate ids, across sections too', () => {
  const found = problems(template([wait('a'), wait('a')], { finally: [wait('a')] }));
  expect(found.filter((p) => p.code === 'duplicate_id')).toEqual([
    { nodeId: 'a', field: 'nodes.1.id', code: 'duplicate_id', message: 'node id "a" is used more than once' },
    { nodeId: 'a', field: 'finally.0.id', code: 'duplicate_id', message: 'node id "a" is used more than once' },
  ]);
});

test('a cycle is named node by node, in run order; a node depending on itself too', () => {
  const found = problems(template([wait('a', { dependsOn: ['c'] }), wait('b', { dependsOn: ['a'] }), wait('c', { dependsOn: ['b'] }), wait('d', { dependsOn: ['d'] })]));
  expect(found).toEqual([
    { nodeId: 'a', field: 'nodes.0.dependsOn', code: 'cycle', message: 'dependency cycle: a → b → c → a' },
    { nodeId: 'd', field: 'nodes.3.dependsOn', code: 'cycle', message: 'node "d" depends on itself' },
  ]);
});

test('unknown step types and dependencies; a cleanup node depends only on its own section', () => {
  const found = problems(template([wait('a'), { id: 'b', type: 'teleport', inputs: {}, dependsOn: ['a', 'ghost'] }], { onCancel: [wait('undo', { dependsOn: ['a'] })], finally: [wait('end'), wait('last', { dependsOn: ['end'] })] }));
  expect(found).toEqual([
    { nodeId: 'b', field: 'nodes.1.dependsOn.1', code: 'unknown_dependency', message: 'depends on "ghost", which is no node of this template' },
    { nodeId: 'b', field: 'nodes.1.type', code: 'unknown_step_type', message: expect.stringContaining('unknown step type "teleport"; known types: script, http') },
    { nodeId: 'undo', field: 'onCancel.0.dependsOn.0', code: 'cross_section_dependency', message: 'depends on "a" of nodes; a node of onCancel depends only on nodes of onCancel' },
  ]);
});

test('a reference or a when reads only its (transitive) dependencies, declared parameters and known names', () => {
  const found = problems(
    template(
      [
        wait('a'),
        wait('b', { dependsOn: ['a'] }),
        { id: 'c', type: 'notify', dependsOn: ['b'], when: 'steps.z.status == "succeeded"', inputs: { url: 'https://x.example.com', text: '${{ steps.a.outputs.waitedUntil }} ${{ parameters.nope }} ${{ item }} ${{ stepz.a }}' } },
        { id: 'd', type: 'notify', inputs: { url: 'https://x.example.com', text: '${{ steps.c.status }} ${{ steps["b"].status }} ${{ steps.d.status }}' } },
      ],
      { parameters: [{ name: 'known', type: 'string' }] },
    ),
  );
  expect(found.map((p) => [p.nodeId, p.field, p.code])).toEqual([
    ['c', 'nodes.2.when', 'unknown_step'],
    ['c', 'nodes.2.inputs.text', 'unknown_parameter'],
    ['c', 'nodes.2.inputs.text', 'unknown_variable'],
    ['c', 'nodes.2.inputs.text', 'unknown_variable'],
    ['d', 'nodes.3.inputs.text', 'not_a_dependency'],
    ['d', 'nodes.3.inputs.text', 'not_a_dependency'],
    ['d', 'nodes.3.inputs.text', 'not_a_dependency'],
  ]);
  expect(found[4].message).toBe('reads steps.c, which is not among its dependencies (direct or through others): add "c" to dependsOn');
});

test('CEL syntax errors in references, when and forEach.items name the place in the expression', () => {
  const found = problems(
    template([
      {
        id: 'a',
        type: 'wait',
        when: 'parameters.x ==',
        forEach: { items: '${{ parameters.list }}' },
        inputs: { duration: '${{ 1 + }}', until: '${{ }}' },
      },
    ]),
  );
  expect(found).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ nodeId: 'a', field: 'nodes.0.when', code: 'expression_syntax', message: expect.stringMatching(/^1:\d+: /) }),
      expect.objectContaining({ field: 'nodes.0.forEach.items', code: 'expression_syntax', message: expect.stringContaining('without ${{ }}') }),
      expect.objectContaining({ field: 'nodes.0.inputs.duration', code: 'expression_syntax' }),
      expect.objectContaining({ field: 'nodes.0.inputs.until', code: 'expression_syntax', message: 'is an empty ${{ }} reference' }),
    ]),
  );
});

test('types: a when must be a boolean, forEach.items a list, operators fit their operands', () => {
  const found = problems(
    template(
      [
        { id: 'a', type: 'wait', when: 'parameters.count', inputs: { duration: '1s' } },
        { id: 'b', type: 'wait', forEach: { items: 'parameters.name' }, inputs: { duration: '1s' } },
        { id: 'c', type: 'wait', when: 'parameters.name > 2', inputs: { duration: '1s' } },
        { id: 'd', type: 'http', inputs: { url: 'https://x.example.com' } },
        { id: 'e', type: 'wait', dependsOn: ['d'], when: 'steps.d.outputs.status + "x" == "y"', inputs: { duration: '1s' } },
        { id: 'f', type: 'wait', when: 'frobnicate(parameters.name)', inputs: { duration: '1s' } },
      ],
      { parameters: [{ name: 'count', type: 'integer', default: 3 }, { name: 'name', type: 'string' }] },
    ),
  );
  expect(found.map((p) => [p.nodeId, p.field, p.code])).toEqual([
    ['a', 'nodes.0.when', 'type_error'],
    ['b', 'nodes.1.forEach.items', 'type_error'],
    ['c', 'nodes.2.when', 'type_error'],
    ['e', 'nodes.4.when', 'type_error'],
    ['f', 'nodes.5.when', 'type_error'],
  ]);
  expect(found[0].message).toBe('must be a boolean condition, gives a number');
  expect(found[1].message).toBe('must give a list, gives a string');
  expect(found[2].message).toContain("no matching overload for '_>_' applied to '(string, int)'");
});

test("inputs are checked against the step type's schema; a field holding a reference is left to the run", () => {
  const found = problems(
    template(
      [
        { id: 'a', type: 'script', inputs: { environmentId: 'not-a-uuid', shell: 'bash' } },
        { id: 'b', type: 'script', inputs: { environmentId: '${{ parameters.env }}', command: 'make' } },
        { id: 'c', type: 'wait', inputs: { duration: 'soon' } },
        { id: 'd', type: 'wait', inputs: { duration: '${{ parameters.delay }}' } },
        { id: 'e', type: 'http', inputs: { url: 'https://${{ parameters.host }}/x', expectStatus: [999] } },
      ],
      { parameters: [{ name: 'env', type: 'string' }, { name: 'delay', type: 'string' }, { name: 'host', type: 'string' }] },
    ),
  );
  expect(found).toEqual([
    { nodeId: 'a', field: 'nodes.0.inputs.environmentId', code: 'invalid_input', message: 'must be a UUID' },
    { nodeId: 'a', field: 'nodes.0.inputs.command', code: 'invalid_input', message: 'is required by a script step' },
    { nodeId: 'a', field: 'nodes.0.inputs.shell', code: 'invalid_input', message: '"shell" is not an input of a script step' },
    { nodeId: 'c', field: 'nodes.2.inputs.duration', code: 'invalid_input', message: 'must be a duration such as 30s, 5m or 1h30m' },
    { nodeId: 'e', field: 'nodes.4.inputs.expectStatus.0', code: 'invalid_input', message: expect.stringContaining('599') },
  ]);
});

test('an input key the step type does not know is its problem, even an empty one (the shape admits any key)', () => {
  expect(problems(template([wait('a', { inputs: { duration: '1s', '': 1 } })]))).toEqual([
    { nodeId: 'a', field: 'nodes.0.inputs.', code: 'invalid_input', message: '"" is not an input of a wait step' },
  ]);
});

test('retry, timeout and forEach settings that cannot work', () => {
  const found = problems(template([wait('a', { timeout: '0s', retry: { attempts: 3, backoff: '1m', maxBackoff: '10s' } }), wait('b', { retry: { attempts: 1, backoff: '1s' }, forEach: { items: [] } })]));
  expect(found.map((p) => [p.nodeId, p.field, p.code])).toEqual([
    ['a', 'nodes.0.timeout', 'invalid_timeout'],
    ['a', 'nodes.0.retry.maxBackoff', 'invalid_retry'],
    ['b', 'nodes.1.retry', 'invalid_retry'],
    ['b', 'nodes.1.forEach.items', 'invalid_for_each'],
  ]);
});

test('parameters: duplicates, defaults and allowed values of the wrong type', () => {
  const found = problems(
    template([wait('a')], {
      parameters: [
        { name: 'x', type: 'integer', default: 1.5 },
        { name: 'x', type: 'string', enum: ['a', 2], default: 'b' },
        { name: 'flag', type: 'boolean', enum: [1] },
      ],
    }),
  );
  expect(found.map((p) => [p.field, p.code])).toEqual([
    ['parameters.0.default', 'invalid_default'],
    ['parameters.1.name', 'duplicate_parameter'],
    ['parameters.1.enum.1', 'invalid_enum'],
    ['parameters.1.default', 'invalid_default'],
    ['parameters.2.enum', 'invalid_enum'],
  ]);
});

test('every problem at once: one template, every class', () => {
  const found = problems(
    template([
      wait('a', { dependsOn: ['b'] }),
      wait('b', { dependsOn: ['a'] }),
      { id: 'c', type: 'nope', inputs: {} },
      { id: 'd', type: 'wait', dependsOn: ['zz'], when: '1 +', inputs: { duration: 'x' } },
    ]),
  );
  expect(new Set(found.map((p) => p.code))).toEqual(new Set(['cycle', 'unknown_step_type', 'unknown_dependency', 'expression_syntax', 'invalid_input']));
});

describe('CEL bounds and names', () => {
  test('cost: length, nesting and macros nested more than twice are refused', () => {
    expect(celSyntax('x'.repeat(2001))).toEqual({ ok: false, message: 'is longer than 2000 characters' });
    expect(celSyntax(`${'('.repeat(900)}1${')'.repeat(900)}`)).toEqual({ ok: false, message: 'is nested too deeply' });
    expect(celSyntax('[1].all(a, [2].all(b, b > a))')).toEqual({ ok: true });
    expect(celSyntax('[1].all(a, [2].all(b, [3].exists(c, c > b)))')).toEqual({ ok: false, message: expect.stringContaining('more than 2 deep') });
  });

  test('names come from the parsed tree: loop variables and string literals read nothing', () => {
    expect(celNames('parameters.list.map(x, x + steps.a.outputs.n) == "steps.b"')).toEqual({ variables: ['parameters', 'steps'], selections: [['parameters', 'list'], ['steps', 'a']] });
  });

  test('a dry run tells a type mistake from a value only a real run knows', () => {
    expect(celDryRun('a + 1', { a: 'x' })).toMatchObject({ kind: 'type-error' });
    expect(celDryRun('a.missing == 1', { a: {} })).toEqual({ kind: 'unknown' });
    expect(celDryRun('a.size()', { a: [1, 2] })).toEqual({ kind: 'value', value: 2 });
  });
});

describe('the graph', () => {
  test('ancestors are transitive and exclude the node itself', () => {
    const anc = ancestorsOf([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b', 'x'] }]);
    expect([...anc.get('c')!].sort()).toEqual(['a', 'b']);
  });

  test('each cycle once; a 300-node chain needs no deep recursion', () => {
    expect(findCycles([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }])).toEqual([['a', 'b', 'a']]);
    const chain = Array.from({ length: 300 }, (_, i) => ({ id: `n${i}`, dependsOn: i ? [`n${i - 1}`] : ['n299'] }));
    expect(findCycles(chain)).toHaveLength(1);
  });
});

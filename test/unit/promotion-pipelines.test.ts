import { evaluateGates } from '../../domain/promotions/gates';
import { defaultPipeline, pipelineOrderText, pipelineProblems, pipelineRefusal, placeInPipeline, releasePipelineOf } from '../../domain/promotions/pipelines';
import { gateInputs } from './promotion-fixtures';

const devA = { id: 'e-dev-a', name: 'dev-a' };
const stagingA = { id: 'e-staging-a', name: 'staging-a' };
const devB = { id: 'e-dev-b', name: 'dev-b' };
const prod = { id: 'e-prod', name: 'prod' };
const teamA = [devA, stagingA, prod];
const teamB = [devB, prod];

describe('placeInPipeline', () => {
  test('the environment before the target in its own pipeline is the required step', () => {
    expect(placeInPipeline(teamA, prod.id)).toEqual({ inPipeline: true, position: 2, previous: stagingA });
    expect(placeInPipeline(teamB, prod.id)).toEqual({ inPipeline: true, position: 1, previous: devB });
  });

  test('the first environment has no required step', () => {
    expect(placeInPipeline(teamA, devA.id)).toEqual({ inPipeline: true, position: 0, previous: null });
  });

  test('an environment the pipeline does not list is outside it', () => {
    expect(placeInPipeline(teamB, stagingA.id)).toEqual({ inPipeline: false });
  });
});

describe('defaultPipeline', () => {
  test('is every environment of the tenant by order, with no id', () => {
    const pipeline = defaultPipeline([{ ...prod, order: 3 }, { ...devA, order: 1 }, { ...stagingA, order: 2 }]);
    expect(pipeline).toEqual({ id: null, name: 'default', environments: [devA, stagingA, prod] });
    expect(pipelineOrderText(pipeline)).toBe('dev-a → staging-a → prod');
  });
});

describe('releasePipelineOf', () => {
  test('components that share a pipeline (or all use the default) agree on it', () => {
    expect(releasePipelineOf(['p-a', 'p-a'])).toEqual({ agreed: true, pipelineId: 'p-a' });
    expect(releasePipelineOf([null, null])).toEqual({ agreed: true, pipelineId: null });
    expect(releasePipelineOf([])).toEqual({ agreed: true, pipelineId: null });
  });

  test('components in different pipelines, the default counting as one, do not', () => {
    expect(releasePipelineOf(['p-a', 'p-b', 'p-a'])).toEqual({ agreed: false, pipelineIds: ['p-a', 'p-b'] });
    expect(releasePipelineOf(['p-a', null])).toEqual({ agreed: false, pipelineIds: ['p-a', null] });
  });
});

describe('pipelineProblems', () => {
  const known = new Set([devA.id, stagingA.id, prod.id]);

  test('a pipeline of existing environments, each once, has none', () => {
    expect(pipelineProblems(teamA.map((e) => e.id), known)).toEqual([]);
  });

  test('a pipeline needs at least one environment', () => {
    expect(pipelineProblems([], known)).toEqual([{ field: 'environmentIds', code: 'too_small', message: 'must list at least one environment' }]);
  });

  test('an environment listed twice is named at its second position', () => {
    expect(pipelineProblems([devA.id, prod.id, devA.id])).toEqual([
      { field: 'environmentIds.2', environmentId: devA.id, code: 'duplicate', message: `lists environment ${devA.id} again (first at position 0)` },
    ]);
  });

  test('an environment the tenant does not have is named, with every other problem', () => {
    expect(pipelineProblems([devB.id, prod.id, prod.id], known)).toEqual([
      { field: 'environmentIds.0', environmentId: devB.id, code: 'not_found', message: `environment ${devB.id} does not exist` },
      { field: 'environmentIds.2', environmentId: prod.id, code: 'duplicate', message: `lists environment ${prod.id} again (first at position 1)` },
    ]);
  });
});

describe('the order gate reads the pipeline', () => {
  const ctx = { now: '2026-01-01T00:00:00.000Z', requester: { userId: 'dev' }, approvals: [] };
  const orderGate = (inputs: ReturnType<typeof gateInputs>) => evaluateGates(inputs, ctx).find((g) => g.gateName === 'promotion-order-gate')!;
  const production = { id: 'env-prod', name: 'Production' };
  const staging = { id: 'env-stg', name: 'Staging' };

  test('inputs from before pipelines (none carried) are gated and described as they were', () => {
    const gate = orderGate(gateInputs());
    expect(gate).toMatchObject({ passed: true, message: 'myapp-v2.3.1 is deployed to Staging' });
    expect(gate.details).toEqual({ previousEnvironmentId: 'env-stg', previousEnvironmentName: 'Staging', targetOrder: 3 });
  });

  test('a named pipeline is named in the details and in the first environment’s message', () => {
    const pipeline = { id: 'p-b', name: 'team-b', environments: [production] };
    const gate = orderGate(gateInputs({ previousEnvironment: null, pipeline }));
    expect(gate).toMatchObject({ passed: true, message: 'Production is the first environment of pipeline team-b' });
    expect(gate.details).toMatchObject({ pipelineId: 'p-b', pipelineName: 'team-b', pipelineOrder: ['Production'] });
  });

  test('a target outside the pipeline, or a release split between pipelines, blocks with the reason', () => {
    const outside = { id: 'p-a', name: 'team-a', environments: [staging] };
    expect(orderGate(gateInputs({ previousEnvironment: null, pipeline: outside }))).toMatchObject({
      passed: false,
      blocking: true,
      message: 'Production is not in pipeline team-a (Staging), which myapp-v2.3.1 follows',
      details: { reason: 'ENVIRONMENT_NOT_IN_PIPELINE' },
    });
    const split = { id: null, name: 'default', environments: [staging, production], splitBetween: ['default', 'team-a'] };
    const refusal = pipelineRefusal({ release: { name: 'myapp-v2.3.1' }, environment: production, pipeline: split });
    expect(refusal).toMatchObject({ code: 'RELEASE_PIPELINES_DIFFER', details: { pipelines: ['default', 'team-a'] } });
    expect(orderGate(gateInputs({ previousEnvironment: null, pipeline: split }))).toMatchObject({ passed: false, blocking: true, message: refusal!.message });
  });
});

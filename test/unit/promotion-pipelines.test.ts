import { defaultPipeline, pipelineOrderText, pipelineProblems, placeInPipeline, releasePipelineOf } from '../../domain/promotions/pipelines';

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
      { field: 'environmentIds.2', code: 'duplicate', message: `lists environment ${devA.id} again (first at position 0)` },
    ]);
  });

  test('an environment the tenant does not have is named, with every other problem', () => {
    expect(pipelineProblems([devB.id, prod.id, prod.id], known)).toEqual([
      { field: 'environmentIds.0', code: 'not_found', message: `environment ${devB.id} does not exist` },
      { field: 'environmentIds.2', code: 'duplicate', message: `lists environment ${prod.id} again (first at position 1)` },
    ]);
  });
});

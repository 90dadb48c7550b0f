/**
 * Promotion pipelines: the ordered environments a component's releases move
 * through. A component names its pipeline; one that names none uses the
 * tenant's environment order, the default pipeline. The order gate asks this
 * module which environment comes before the target in the release's pipeline.
 */

export interface PipelineEnvironment {
  id: string;
  name: string;
}

/** The pipeline a promotion is gated by, as the gate inputs carry it; `id` null is the default pipeline. */
export interface PipelineRef {
  id: string | null;
  name: string;
  /** In promotion order. */
  environments: PipelineEnvironment[];
}

export const DEFAULT_PIPELINE_NAME = 'default';

/** The default pipeline: every environment of the tenant by its `order`. */
export function defaultPipeline(environments: ReadonlyArray<PipelineEnvironment & { order: number }>): PipelineRef {
  const ordered = [...environments].sort((a, b) => a.order - b.order);
  return { id: null, name: DEFAULT_PIPELINE_NAME, environments: ordered.map(({ id, name }) => ({ id, name })) };
}

export type Placement = { inPipeline: true; position: number; previous: PipelineEnvironment | null } | { inPipeline: false };

/** Where the target stands in the pipeline, and the environment a release must reach before it (null: the first). */
export function placeInPipeline(environments: readonly PipelineEnvironment[], targetId: string): Placement {
  const position = environments.findIndex((e) => e.id === targetId);
  if (position < 0) return { inPipeline: false };
  return { inPipeline: true, position, previous: position === 0 ? null : environments[position - 1] };
}

/** The pipeline a release follows: the one all its components share, or the ids it is split between. */
export type ReleasePipeline = { agreed: true; pipelineId: string | null } | { agreed: false; pipelineIds: Array<string | null> };

export function releasePipelineOf(componentPipelineIds: ReadonlyArray<string | null>): ReleasePipeline {
  const distinct = [...new Set(componentPipelineIds)];
  if (distinct.length <= 1) return { agreed: true, pipelineId: distinct[0] ?? null };
  return { agreed: false, pipelineIds: distinct };
}

export interface PipelineProblem {
  field: string;
  /** The environment the problem is about (absent: the list as a whole). */
  environmentId?: string;
  code: 'too_small' | 'duplicate' | 'not_found';
  message: string;
}

/**
 * What is wrong with a pipeline's environment list: none listed, one listed
 * twice (a pipeline cannot pass through an environment twice), or one the
 * tenant does not have (`known` omitted: existence is not checked).
 */
export function pipelineProblems(environmentIds: readonly string[], known?: ReadonlySet<string>): PipelineProblem[] {
  if (environmentIds.length === 0) return [{ field: 'environmentIds', code: 'too_small', message: 'must list at least one environment' }];
  const problems: PipelineProblem[] = [];
  const seen = new Map<string, number>();
  environmentIds.forEach((id, i) => {
    const first = seen.get(id.toLowerCase());
    if (first !== undefined) problems.push({ field: `environmentIds.${i}`, environmentId: id, code: 'duplicate', message: `lists environment ${id} again (first at position ${first})` });
    else seen.set(id.toLowerCase(), i);
    if (known && !known.has(id.toLowerCase())) problems.push({ field: `environmentIds.${i}`, environmentId: id, code: 'not_found', message: `environment ${id} does not exist` });
  });
  return problems;
}

/** How a pipeline reads in messages: `dev-a → staging-a → prod`. */
export function pipelineOrderText(pipeline: Pick<PipelineRef, 'environments'>): string {
  return pipeline.environments.map((e) => e.name).join(' → ');
}

/** Why a release cannot be promoted to the target along its pipeline at all, whatever was deployed. */
export interface PipelineRefusal {
  code: 'ENVIRONMENT_NOT_IN_PIPELINE' | 'RELEASE_PIPELINES_DIFFER';
  message: string;
  details: Record<string, unknown>;
}

export function pipelineRefusal(inputs: {
  release: { name: string };
  environment: PipelineEnvironment;
  pipeline?: PipelineRef & { splitBetween?: string[] };
}): PipelineRefusal | null {
  const { pipeline, environment, release } = inputs;
  if (!pipeline) return null;
  if (pipeline.splitBetween) {
    return {
      code: 'RELEASE_PIPELINES_DIFFER',
      message: `The components of ${release.name} are in different pipelines (${pipeline.splitBetween.join(', ')}); a release follows one pipeline: put its components in the same one`,
      details: { pipelines: pipeline.splitBetween },
    };
  }
  if (placeInPipeline(pipeline.environments, environment.id).inPipeline) return null;
  return {
    code: 'ENVIRONMENT_NOT_IN_PIPELINE',
    message: `${environment.name} is not in pipeline ${pipeline.name} (${pipelineOrderText(pipeline)}), which ${release.name} follows`,
    details: { environmentId: environment.id, pipelineId: pipeline.id, pipelineName: pipeline.name, pipelineEnvironments: pipeline.environments },
  };
}

import { STEP_TYPE_DEFINITIONS } from '../../../domain/templates/step-types';
import type { TemplateSpec } from '../../../domain/templates/model';

export interface TemplateProblem {
  nodeId: string | null;
  field: string;
  message: string;
}

/**
 * What keeps a saved template version from running now. It was valid when it
 * was saved, but step types and their rules move: a run starts only from a
 * version that still validates.
 */
export function templateProblems(spec: TemplateSpec): TemplateProblem[] {
  const all = [...spec.nodes, ...(spec.onCancel ?? []), ...(spec.finally ?? [])];
  return all.filter((n) => !Object.hasOwn(STEP_TYPE_DEFINITIONS, n.type)).map((n) => ({ nodeId: n.id, field: 'type', message: `unknown step type ${n.type}` }));
}

import type { Permission } from '../permissions';
import type { StepTypeName, TemplateSpec } from './model';

/**
 * What a run's requester must hold for each step type: a step acts as the
 * person who started the run, so a template is no way to do what that person
 * may not do directly (promote, deploy, open a change, move traffic, run a
 * command on an agent). Checked when the run is requested, before anything runs.
 */
export const STEP_PERMISSIONS: Record<StepTypeName, readonly Permission[]> = {
  script: ['deployment:operate'],
  http: [],
  wait: [],
  approval: [],
  gate: ['promotion:read'],
  promote: ['promotion:create'],
  deploy: ['deployment:operate'],
  // Opening is change:create; submitting it (and sending it to CAB) is change:update.
  'change-request': ['change:create', 'change:update'],
  rollout: ['rollout:operate'],
  notify: [],
};

export interface MissingStepPermission {
  nodeId: string;
  type: StepTypeName;
  permission: Permission;
}

/** Every node (main, onCancel, finally) whose step needs a permission the requester lacks. */
export function missingStepPermissions(spec: TemplateSpec, holds: (permission: Permission) => boolean): MissingStepPermission[] {
  const nodes = [...spec.nodes, ...(spec.onCancel ?? []), ...(spec.finally ?? [])];
  return nodes.flatMap((node) => STEP_PERMISSIONS[node.type].filter((permission) => !holds(permission)).map((permission) => ({ nodeId: node.id, type: node.type, permission })));
}

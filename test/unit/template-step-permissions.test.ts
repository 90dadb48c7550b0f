import { permissionsFor, hasPermission, type Permission } from '../../domain/permissions';
import { missingStepPermissions, STEP_PERMISSIONS } from '../../domain/templates/step-permissions';
import { STEP_TYPES, type TemplateSpec } from '../../domain/templates/model';

const spec: TemplateSpec = {
  name: 't',
  nodes: [
    { id: 'wait', type: 'wait', inputs: { duration: '1s' } },
    { id: 'ship', type: 'promote', inputs: {} },
    { id: 'move', type: 'rollout', inputs: {} },
  ],
  onCancel: [{ id: 'undo', type: 'script', inputs: {} }],
};
const holds = (roles: string[]) => (p: Permission) => hasPermission({ permissions: permissionsFor(roles) }, p);

test('every step type has its entry, and what moves releases, traffic or agents needs its own module’s permission', () => {
  expect(Object.keys(STEP_PERMISSIONS).sort()).toEqual([...STEP_TYPES].sort());
  expect(STEP_PERMISSIONS.promote).toEqual(['promotion:create']);
  expect(STEP_PERMISSIONS.script).toEqual(['deployment:operate']);
});

test('names each node (cleanup sections included) whose step the requester may not do', () => {
  expect(missingStepPermissions(spec, holds(['developer']))).toEqual([
    { nodeId: 'move', type: 'rollout', permission: 'rollout:operate' },
    { nodeId: 'undo', type: 'script', permission: 'deployment:operate' },
  ]);
  expect(missingStepPermissions(spec, holds(['release-manager']))).toEqual([]);
  expect(missingStepPermissions(spec, holds(['viewer'])).map((m) => m.nodeId)).toEqual(['ship', 'move', 'undo']);
});

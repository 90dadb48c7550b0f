import { environmentPatchSchema, mergeEnvironmentPatch, mergeMap, mergeTargetPatch, putFormOf, targetPatchSchema } from '../../domain/promotions/inventory-patches';
import { environmentSchema, targetSchema } from '../../domain/promotions/requests';

/** PATCH merge rules: fields left out stay, maps merge key by key (null removes), other values replace whole. */
const target = {
  name: 'web-1',
  environmentId: '6f1c1f36-3c1e-4d3a-9a47-0f1d1c2b3a4e',
  labels: { role: 'web', zone: 'a' },
  properties: { port: '4101' },
  healthCheck: { url: 'http://127.0.0.1:4101/health', command: null, retries: 5, intervalSeconds: 1, timeoutSeconds: 5 },
};
const environment = {
  name: 'staging',
  description: null,
  order: 1,
  requireSod: false,
  requiredApprovals: 0,
  securityThresholds: { maxCritical: 0, maxHigh: 2 },
  requireChangeRequest: false,
  deployment: { strategy: { type: 'rolling', batchSize: 1, maxUnavailable: null, minHealthy: null }, failurePolicy: 'rollback', deployHook: 'sh deploy.sh' } as Record<string, unknown>,
};

describe('PATCH merge', () => {
  it('sets and removes map keys, keeping the rest', () => {
    expect(mergeMap({ a: '1', b: '2' }, { b: null, c: '3' })).toEqual({ a: '1', c: '3' });
    expect(mergeMap(null, { a: '1', b: null })).toEqual({ a: '1' });
  });

  it('merges a target’s labels and properties, replaces its health check whole, and leaves out the agent unless named', () => {
    const patch = targetPatchSchema.parse({ labels: { zone: null, tier: 'gold' }, properties: { fail_version: '2.0.0' } });
    expect(patch).toEqual({ labels: { zone: null, tier: 'gold' }, properties: { fail_version: '2.0.0' } });
    expect(mergeTargetPatch(target, patch)).toEqual({ ...target, labels: { role: 'web', tier: 'gold' }, properties: { port: '4101', fail_version: '2.0.0' } });
    const check = mergeTargetPatch(target, targetPatchSchema.parse({ healthCheck: { command: 'true' } }));
    expect(targetSchema.parse(check).healthCheck).toEqual({ command: 'true', retries: 3, intervalSeconds: 2, timeoutSeconds: 5 });
    expect(mergeTargetPatch(target, targetPatchSchema.parse({ healthCheck: null })).healthCheck).toBeNull();
    expect(mergeTargetPatch(target, targetPatchSchema.parse({ name: 'web-1' }))).not.toHaveProperty('agentId');
    expect(mergeTargetPatch(target, targetPatchSchema.parse({ agentId: null }))).toMatchObject({ agentId: null });
  });

  it('merges deployment settings one level deep: a setting given is replaced whole, null removes it, deployment null removes them all', () => {
    const patch = environmentPatchSchema.parse({ deployment: { strategy: { type: 'all-at-once' }, deployHook: null } });
    expect(patch).toEqual({ deployment: { strategy: { type: 'all-at-once' }, deployHook: null } });
    expect(mergeEnvironmentPatch(environment, patch)).toEqual({ ...environment, deployment: { strategy: { type: 'all-at-once' }, failurePolicy: 'rollback' } });
    expect(mergeEnvironmentPatch(environment, environmentPatchSchema.parse({ deployment: null })).deployment).toBeNull();
    expect(mergeEnvironmentPatch({ ...environment, deployment: null }, environmentPatchSchema.parse({ deployment: { failurePolicy: 'pause' } })).deployment).toEqual({ failurePolicy: 'pause' });
    expect(mergeEnvironmentPatch(environment, environmentPatchSchema.parse({ requiredApprovals: 2, securityThresholds: null }))).toEqual({ ...environment, requiredApprovals: 2, securityThresholds: null });
  });

  it('adds no field the client did not send (the patch schemas carry no defaults), and refuses an empty patch', () => {
    expect(environmentPatchSchema.parse({ order: 2 })).toEqual({ order: 2 });
    expect(targetPatchSchema.parse({ name: 'web-2' })).toEqual({ name: 'web-2' });
    for (const schema of [environmentPatchSchema, targetPatchSchema]) {
      expect(schema.safeParse({}).error?.issues.map((i) => i.message)).toEqual(['send at least one field to change']);
    }
    // Inside deployment a label selector is replaced whole: a null label there is no removal, it is refused.
    expect(environmentPatchSchema.safeParse({ deployment: { targetLabels: { role: null } } }).success).toBe(false);
  });

  it('reads the PUT form off the entity as presented: every field PUT takes, nothing else, minus those whose absence keeps them', () => {
    const presented = { id: 't-1', ...target, agentId: 'a-1', agentName: 'agent-1', createdAt: 'x', updatedAt: 'y' };
    expect(putFormOf(targetSchema, presented, ['agentId'])).toEqual(target);
    expect(putFormOf(environmentSchema, { id: 'e-1', version: 3, freeze: {}, ...environment })).toEqual(environment);
  });

  it('covers every field PUT takes, so a field added to PUT cannot be silently dropped by PATCH', () => {
    expect(Object.keys(targetPatchSchema.shape).sort()).toEqual(Object.keys(targetSchema.shape).sort());
    expect(Object.keys(environmentPatchSchema.shape).sort()).toEqual(Object.keys(environmentSchema.shape).sort());
  });
});

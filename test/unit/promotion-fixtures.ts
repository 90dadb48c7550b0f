import type { GateInputs } from '../../domain/promotions/model';

/** Gate inputs for a release headed to production, overridable per test. */
export function gateInputs(overrides: Partial<GateInputs> = {}): GateInputs {
  return {
    release: {
      id: 'rel-1',
      name: 'myapp-v2.3.1',
      class: 'standard',
      deprecated: false,
      securityScan: { criticalCount: 0, highCount: 3 },
      components: [{ componentId: 'cmp-1', name: 'myapp', version: '2.3.1', digest: 'sha256:aaa' }],
    },
    environment: { id: 'env-prod', name: 'Production', order: 3, securityThresholds: { maxCritical: 0, maxHigh: 5 }, requireChangeRequest: false },
    previousEnvironment: { id: 'env-stg', name: 'Staging', releaseDeployed: true },
    policy: {
      policyId: 'pol-1',
      policyVersion: 1,
      name: 'production-policy',
      requiredApprovals: 2,
      approverGroups: ['release-managers', 'sre-team'],
      requireSeparationOfDuties: true,
      autoExpireHours: 24,
    },
    freeze: { active: null, next: null },
    changeRequest: null,
    changeId: null,
    ...overrides,
  };
}

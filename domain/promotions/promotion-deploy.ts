import { DomainError } from '../errors';
import { clearDeployment } from './clearance';
import type { GateInputs, Promotion } from './model';
import { IN_FLIGHT } from './state-machine';

/**
 * May a deployment job of this promotion run now, outside its own workflow (a
 * template's `deploy` step)? Only for a promotion that was approved for its
 * environment and whose own workflow no longer deploys it (it ended deployed,
 * failed or rolled back), and only through the clearance every deploying path
 * meets (clearance.ts): its approvals still bound to what stands, no active
 * freeze, every blocking gate passing with its approvals. A refusal says why.
 */
export function clearPromotionDeploy(p: Promotion, inputs: GateInputs, now: string): { ok: true } | { ok: false; error: DomainError } {
  const where = `${p.releaseName} → ${p.targetEnvironmentName}`;
  if (p.decision !== 'allow') {
    return refuse('PROMOTION_NOT_APPROVED', `Promotion ${p.id} (${where}) is ${p.status}: it was never approved for ${p.targetEnvironmentName}, so it cannot be deployed`, p);
  }
  if (IN_FLIGHT.includes(p.status)) {
    return refuse('PROMOTION_IN_FLIGHT', `Promotion ${p.id} (${where}) is ${p.status}: its own workflow deploys it; wait for it (a promote step) instead of deploying it again`, p);
  }
  const clearance = clearDeployment(inputs, { kind: 'promotion', promotion: p }, now);
  if (clearance.outcome === 'clear') return { ok: true };
  if (clearance.outcome === 'refuse') return { ok: false, error: clearance.error };
  if (clearance.outcome === 'rebind') {
    return refuse('APPROVALS_STALE', `Promotion ${p.id} (${where}): what its approvals were given for has moved (${clearance.reasons.join('; ')}); request a new promotion`, p, { reasons: clearance.reasons });
  }
  return refuse('FREEZE_ACTIVE', `Promotion ${p.id} (${where}): a freeze of ${p.targetEnvironmentName} is active until ${clearance.until}`, p, { until: clearance.until });
}

function refuse(code: string, message: string, p: Promotion, more: Record<string, unknown> = {}): { ok: false; error: DomainError } {
  return { ok: false, error: new DomainError('rule', code, message, { promotionId: p.id, status: p.status, ...more }) };
}

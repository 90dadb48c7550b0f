import { countPeople, samePerson, type Actor, type Identity } from '../actor';
import { canonicalJson } from '../canonical-json';
import { DomainError } from '../errors';
import { inApproverGroups, isRequesterOf } from '../approver-rules';
import { blockers, countingApprovals } from './gates';
import type { Approval, ApprovalBinding, DeployHooks, EffectivePolicy, GateInputs, Promotion } from './model';
import { UNDECIDED } from './state-machine';

/**
 * Who may decide a promotion, and what an approval is bound to. Approvals are
 * counted by distinct person (samePerson: a shared user id or email, the rule
 * separation of duties uses); each one records the fingerprint of what it
 * approved (digests, scan, policy, deploy hooks), and stops counting when that
 * fingerprint moves.
 */

/** Whether the actor belongs to one of the policy's approver groups (or holds promotion:approve when it names none). */
export function isApprover(actor: Actor, policy: EffectivePolicy): boolean {
  return inApproverGroups(actor, policy.approverGroups, 'promotion:approve');
}

export function isRequester(actor: Actor, promotion: Pick<Promotion, 'requestedBy' | 'requestedByEmail'>): boolean {
  return isRequesterOf(actor, { userId: promotion.requestedBy, email: promotion.requestedByEmail });
}

/** The person an approval names. */
export const approverOf = (a: Pick<Approval, 'approverId' | 'approverEmail'>): Identity => ({ userId: a.approverId, email: a.approverEmail });

/**
 * Who counts as one voter: `person` (samePerson, the rule SoD uses), or `user-id` (the user id alone), which only
 * promotion workflows started before the person rule keep, so their histories replay as they ran.
 */
export type VoterRule = 'person' | 'user-id';

const sameVoter = (rule: VoterRule, actor: Identity, a: Approval) => (rule === 'person' ? samePerson(actor, approverOf(a)) : a.approverId.toLowerCase() === actor.userId.toLowerCase());

export function hasVoted(actor: Actor, approvals: readonly Approval[], rule: VoterRule = 'person'): boolean {
  return approvals.some((a) => !a.invalidated && sameVoter(rule, actor, a));
}

/** Refuses a decision (approve or reject) the actor may not make now; the order of checks is the order of the spec's errors. */
export function checkDecider(promotion: Promotion, actor: Actor, rule: VoterRule = 'person'): void {
  if (!UNDECIDED.includes(promotion.status)) {
    throw new DomainError('invalid_state', 'ALREADY_DECIDED', `Promotion is already ${promotion.status}`, { currentStatus: promotion.status, decidedAt: promotion.decidedAt });
  }
  if (!isApprover(actor, promotion.policy)) {
    throw new DomainError('forbidden', 'NOT_AN_APPROVER', `Only members of ${promotion.policy.approverGroups.join(', ') || 'a group holding promotion:approve'} may decide this promotion`, {
      approverGroups: promotion.policy.approverGroups,
    });
  }
  if (promotion.policy.requireSeparationOfDuties && isRequester(actor, promotion)) {
    throw new DomainError('forbidden', 'SOD_VIOLATION', 'Separation of duties: the requester cannot decide their own promotion', { requestedBy: promotion.requestedBy });
  }
  if (hasVoted(actor, promotion.approvals, rule)) {
    throw new DomainError('invalid_state', 'ALREADY_APPROVED', 'You have already approved this promotion', { approvalCount: promotion.approvalCount });
  }
}

/** Whether the actor could approve now, for "my pending approvals": allowed to decide, and no blocking gate in the last evaluation. */
export function mayApproveNow(promotion: Promotion, actor: Actor): boolean {
  try {
    checkDecider(promotion, actor);
  } catch {
    return false;
  }
  return blockers(promotion.gates).length === 0;
}

/** How many approvals a promotion still needs, and from which groups (none named: holders of promotion:approve). */
export function approvalsMissing(promotion: Pick<Promotion, 'approvalCount' | 'requiredApprovals' | 'policy'>): { approvals: number; approverGroups: string[] } {
  return { approvals: Math.max(0, promotion.requiredApprovals - promotion.approvalCount), approverGroups: promotion.policy.approverGroups };
}

export function bindingOf(inputs: GateInputs): ApprovalBinding {
  const binding: ApprovalBinding = {
    digests: Object.fromEntries(inputs.release.components.map((c) => [`${c.name}@${c.version}`, c.digest])),
    securityScan: inputs.release.securityScan,
    securityThresholds: inputs.environment.securityThresholds,
    policyId: inputs.policy.policyId,
    policyVersion: inputs.policy.policyVersion,
  };
  if (inputs.deployHooks) binding.hooks = hookDigests(inputs.deployHooks);
  return binding;
}

const ENVIRONMENT_HOOK = 'environment';

/** The digest of every hook that may run for the release: `environment` and `component:<name>`. */
export function hookDigests(hooks: DeployHooks): Record<string, string | null> {
  const out: Record<string, string | null> = { [ENVIRONMENT_HOOK]: hooks.environment?.digest ?? null };
  for (const c of hooks.components) out[`component:${c.name}`] = c.hook?.digest ?? null;
  return out;
}

const hookName = (key: string) => (key === ENVIRONMENT_HOOK ? 'deploy hook of the environment' : `deploy hook of component ${key.slice('component:'.length)}`);

// Canonical, so the key order a JSONB column hands back never reads as a change.
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** What moved between what was approved and what stands now, in words for the decision record. */
export function bindingChanges(was: ApprovalBinding, now: ApprovalBinding): string[] {
  const reasons: string[] = [];
  const keys = new Set([...Object.keys(was.digests), ...Object.keys(now.digests)]);
  for (const key of [...keys].sort()) {
    if (was.digests[key] !== now.digests[key]) reasons.push(`digest of ${key} changed from ${was.digests[key] ?? 'none'} to ${now.digests[key] ?? 'none'}`);
  }
  if (!same(was.securityScan, now.securityScan)) {
    const f = (s: ApprovalBinding['securityScan']) => (s ? `${s.criticalCount} critical/${s.highCount} high` : 'none');
    reasons.push(`security scan changed from ${f(was.securityScan)} to ${f(now.securityScan)}`);
  }
  if (!same(was.securityThresholds, now.securityThresholds)) reasons.push('security thresholds of the environment changed');
  if (was.policyId !== now.policyId || was.policyVersion !== now.policyVersion) {
    reasons.push(`approval policy changed from ${was.policyId ?? 'environment defaults'} v${was.policyVersion} to ${now.policyId ?? 'environment defaults'} v${now.policyVersion}`);
  }
  // An approval given before hooks were bound approved no particular hook.
  if (was.hooks && now.hooks) {
    for (const key of [...new Set([...Object.keys(was.hooks), ...Object.keys(now.hooks)])].sort()) {
      const [before, after] = [was.hooks[key] ?? null, now.hooks[key] ?? null];
      if (before !== after) reasons.push(`${hookName(key)} changed from ${before ?? 'none'} to ${after ?? 'none'}`);
    }
  }
  return reasons;
}

/** Marks every counting approval whose binding no longer matches; returns the new list and what was invalidated. */
export function invalidateStale(approvals: readonly Approval[], current: ApprovalBinding, now: string): { approvals: Approval[]; invalidated: Array<{ approverId: string; reasons: string[] }> } {
  const invalidated: Array<{ approverId: string; reasons: string[] }> = [];
  const next = approvals.map((a) => {
    if (a.invalidated || a.decision !== 'approved') return a;
    const reasons = bindingChanges(a.binding, current);
    if (reasons.length === 0) return a;
    invalidated.push({ approverId: a.approverId, reasons });
    return { ...a, invalidated: { at: now, reasons } };
  });
  return { approvals: next, invalidated };
}

/** Approvals that count, by person: two approvals by one person (any shared identity) count once. */
export function approvalCountOf(approvals: readonly Approval[], rule: VoterRule = 'person'): number {
  const counting = countingApprovals(approvals);
  return rule === 'person' ? countPeople(counting.map(approverOf)) : new Set(counting.map((a) => a.approverId.toLowerCase())).size;
}

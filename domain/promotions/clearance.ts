import type { Identity } from '../actor';
import { DomainError } from '../errors';
import { hasPermission, rolesGranting } from '../permissions';
import { bindingChanges, bindingOf } from './approvals';
import { blockers, countingApprovals, evaluateGates } from './gates';
import type { FreezeSpan } from './freeze';
import type { Approval, GateInputs } from './model';

/**
 * May this deployment happen now? The one answer every path that deploys asks
 * for, on inputs loaded by the one loader (store/gate-inputs.ts): an approved
 * promotion before its job starts, a rollback, an operator's retry. A path that
 * skips the promotion gates (a rollback, a retry) still meets the freeze, and a
 * rollback goes only where the environment has been before.
 */
export type DeployPath =
  | {
      kind: 'promotion';
      promotion: { requestedBy: string; requestedByEmail: string | null; approvals: readonly Approval[] };
      /** Skip the check that approvals are bound to what stands (workflow histories from before it existed). */
      ignoreBindings?: boolean;
    }
  /** Returns the environment to a release it ran before; `actor` may override an active freeze with a reason. */
  | { kind: 'rollback'; actor: Identity & { permissions: string[] }; reason: string | null }
  /** Runs a paused job's failed target again. */
  | { kind: 'retry'; actor: Identity & { permissions: string[] }; reason: string | null }
  /** Starts (or retries) a rollout: it moves the environment's traffic to a release, so it meets the freeze as a deployment does. */
  | { kind: 'rollout'; actor: Identity & { permissions: string[] }; reason: string | null };

/** A deployment that goes ahead during a freeze: which freeze, who overrode it and why. */
export interface FreezeOverride {
  windowId: string;
  name: string;
  start: string;
  end: string;
  by: string;
  reason: string;
}

export type Clearance =
  | { outcome: 'clear'; freezeOverride: FreezeOverride | null }
  /** Promotion only: what its approvals were bound to moved; they must be given again. */
  | { outcome: 'rebind'; reasons: string[] }
  /** Promotion only: it waits for the freeze to end. */
  | { outcome: 'hold'; until: string }
  | { outcome: 'refuse'; error: DomainError };

export const OVERRIDE_FREEZE = 'deployment:override-freeze';

export function clearDeployment(inputs: GateInputs, path: DeployPath, now: string): Clearance {
  if (path.kind === 'promotion') return clearPromotion(inputs, path, now);
  if (path.kind === 'rollback' && inputs.environment.releaseDeployed !== true) {
    return refuse(
      'rule',
      'NOT_A_PREVIOUS_RELEASE',
      `${inputs.release.name} never finished deploying to ${inputs.environment.name}: a rollback only returns an environment to a release it ran before. To deploy a new release, request a promotion (POST /promotions), which runs the gates and approvals.`,
      { releaseId: inputs.release.id, environmentId: inputs.environment.id },
    );
  }
  const active = inputs.freeze.active;
  if (!active) return { outcome: 'clear', freezeOverride: null };
  return overrideFreeze(active, path.actor, path.reason, path.kind);
}

function clearPromotion(inputs: GateInputs, path: Extract<DeployPath, { kind: 'promotion' }>, now: string): Clearance {
  const { promotion } = path;
  if (!path.ignoreBindings) {
    const current = bindingOf(inputs);
    const reasons = [...new Set(countingApprovals(promotion.approvals).flatMap((a) => bindingChanges(a.binding, current)))];
    if (reasons.length) return { outcome: 'rebind', reasons };
  }
  if (inputs.freeze.active) return { outcome: 'hold', until: inputs.freeze.active.end };
  const gates = evaluateGates(inputs, { now, requester: { userId: promotion.requestedBy, email: promotion.requestedByEmail }, approvals: promotion.approvals });
  const blocking = blockers(gates);
  if (blocking.length) {
    return refuse('rule', 'PROMOTION_BLOCKED', `blocked at deployment by ${blocking.map((g) => `${g.gateName}: ${g.message}`).join('; ')}`, { gates });
  }
  return { outcome: 'clear', freezeOverride: null };
}

function overrideFreeze(active: FreezeSpan, actor: Identity & { permissions: string[] }, reason: string | null, what: 'rollback' | 'retry' | 'rollout'): Clearance {
  const freeze = { windowId: active.windowId, name: active.name, reason: active.reason, start: active.start, end: active.end };
  const why = active.reason ? ` (${active.reason})` : '';
  if (!hasPermission(actor, OVERRIDE_FREEZE)) {
    return refuse('forbidden', 'FREEZE_ACTIVE', `Freeze "${active.name}"${why} is active until ${active.end}; a ${what} during a freeze needs the "${OVERRIDE_FREEZE}" permission (roles that have it: ${rolesGranting(OVERRIDE_FREEZE).join(', ')}) and a reason`, {
      required: OVERRIDE_FREEZE,
      allowedRoles: rolesGranting(OVERRIDE_FREEZE),
      freeze,
    });
  }
  const text = reason?.trim() ?? '';
  if (!text) {
    return refuse('rule', 'FREEZE_OVERRIDE_NEEDS_REASON', `Freeze "${active.name}"${why} is active until ${active.end}; say why this ${what} overrides it (reason)`, { freeze });
  }
  return { outcome: 'clear', freezeOverride: { windowId: active.windowId, name: active.name, start: active.start, end: active.end, by: actor.email ?? actor.userId, reason: text } };
}

function refuse(kind: 'rule' | 'forbidden', code: string, message: string, details: Record<string, unknown>): Clearance {
  return { outcome: 'refuse', error: new DomainError(kind, code, message, details) };
}

/** The reason a job records for a deployment that overrides a freeze: the caller's reason, and which freeze, by whom. */
export function withOverride(reason: string, o: FreezeOverride | null): string {
  return o ? `${reason} [overrides freeze "${o.name}" until ${o.end}, by ${o.by}]` : reason;
}

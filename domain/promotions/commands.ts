import type { Actor } from '../actor';
import { personKey } from '../actor';
import { Draft, type EntityEvent } from '../draft';
import { DomainError } from '../errors';
import { approvalCountOf, bindingOf, checkDecider, invalidateStale, isApprover, isRequester, type VoterRule } from './approvals';
import type { DeploymentOutcome } from './deployment-outcome';
import { blockers, evaluateGates } from './gates';
import { DEFAULT_PROMOTION_SETTINGS, type GateInputs, type Promotion, type PromotionSettings, type PromotionStatus } from './model';
import type { ApprovePromotionBody, CancelPromotionBody, RejectPromotionBody } from './requests';
import { canMove, isFinished, UNDECIDED } from './state-machine';

/**
 * Every promotion rule, written once: the workflow's validators call `decide`
 * to refuse a command before it enters history, and its handlers call it again
 * under the lock and persist the result. Pure: time and actor come in.
 */
export interface CreatePromotionInput {
  releaseId: string;
  targetEnvironmentId: string;
  reason: string;
  changeId?: string | null;
}

export type PromotionCommand =
  | { kind: 'create'; id: string; input: CreatePromotionInput; gateInputs: GateInputs }
  | { kind: 'open' }
  /**
   * `gateInputs` are what stands now, loaded under the lock: the approval re-gates on them, is bound to them and is
   * refused while a blocking gate fails on them. Without them (the update's validator) only who may approve and the
   * status are judged: gates from the last load may be stale either way (a scan since fixed, or since broken).
   */
  | { kind: 'approve'; input: ApprovePromotionBody; gateInputs?: GateInputs }
  | { kind: 'reject'; input: RejectPromotionBody }
  | { kind: 'cancel'; input: CancelPromotionBody }
  | { kind: 'reevaluate'; gateInputs: GateInputs }
  /** An approved promotion about to deploy (or held by a freeze) meets inputs its approvals were not bound to: they stop counting. */
  | { kind: 'rebind'; gateInputs: GateInputs }
  | { kind: 'expire' }
  | { kind: 'hold'; until: string | null }
  | { kind: 'deploy' }
  | { kind: 'finish'; outcome: DeploymentOutcome; message?: string | null };

export interface DecideContext {
  now: string;
  actor: Actor;
  /** Defaults to DEFAULT_PROMOTION_SETTINGS (an expiry hour is an hour). */
  settings?: PromotionSettings;
  /** Defaults to `person`; see VoterRule. */
  voterRule?: VoterRule;
}

export interface PromotionDecision {
  next: Promotion;
  events: EntityEvent[];
}

export function decide(current: Promotion | undefined, command: PromotionCommand, ctx: DecideContext): PromotionDecision {
  if (command.kind === 'create') return create(current, command, ctx);
  if (!current) throw new DomainError('not_found', 'PROMOTION_NOT_FOUND', 'The promotion does not exist yet');
  const draft = new Draft(current);
  switch (command.kind) {
    case 'open':
      if (current.status === 'pending') settle(draft, ctx, 'promotion.open');
      break;
    case 'approve':
      if (command.gateInputs) reevaluate(draft, command.gateInputs, ctx);
      approve(draft, command.input, ctx, command.gateInputs !== undefined);
      break;
    case 'reject':
      reject(draft, command.input, ctx);
      break;
    case 'cancel':
      cancel(draft, command.input, ctx);
      break;
    case 'reevaluate':
      reevaluate(draft, command.gateInputs, ctx);
      break;
    case 'rebind':
      rebind(draft, command.gateInputs, ctx);
      break;
    case 'expire':
      if (UNDECIDED.includes(current.status)) {
        move(draft, 'cancelled', 'promotion.expire', ctx, { decision: 'deny', decidedAt: ctx.now, statusReason: 'approval_expired', completedAt: ctx.now });
      }
      break;
    case 'hold':
      if (current.status === 'approved') draft.apply('promotion.hold', { heldUntil: command.until });
      break;
    case 'deploy':
      move(draft, 'deploying', 'promotion.deploy', ctx, { heldUntil: null });
      break;
    case 'finish':
      move(draft, command.outcome, `promotion.${command.outcome}`, ctx, { completedAt: ctx.now, statusReason: command.message ?? null });
      break;
  }
  return result(draft, ctx);
}

function result(draft: Draft<Promotion>, ctx: DecideContext): PromotionDecision {
  if (!draft.changed) return { next: draft.original, events: [] };
  return { next: { ...draft.value, updatedAt: ctx.now, version: draft.original.version + 1 }, events: draft.events };
}

function move(draft: Draft<Promotion>, to: PromotionStatus, action: string, ctx: DecideContext, patch: Partial<Promotion> = {}): void {
  const from = draft.value.status;
  if (!canMove(from, to)) {
    throw new DomainError('invalid_state', 'INVALID_STATE_TRANSITION', `A promotion that is ${from} cannot become ${to}`, { currentStatus: from, requested: to });
  }
  draft.apply(action, { ...patch, status: to });
}

function create(current: Promotion | undefined, command: Extract<PromotionCommand, { kind: 'create' }>, ctx: DecideContext): PromotionDecision {
  if (current) throw new DomainError('invalid_state', 'PROMOTION_EXISTS', 'This promotion was already created');
  const { input, gateInputs } = command;
  if (gateInputs.release.deprecated) {
    throw new DomainError('rule', 'RELEASE_DEPRECATED', `Release ${gateInputs.release.name} is deprecated and cannot be promoted`, { releaseId: gateInputs.release.id });
  }
  const gates = evaluateGates(gateInputs, { now: ctx.now, requester: ctx.actor, approvals: [] });
  const blocking = blockers(gates);
  if (blocking.length) {
    throw new DomainError('rule', 'PROMOTION_BLOCKED', `Blocked by ${blocking.map((g) => g.gateName).join(', ')}: ${blocking.map((g) => g.message).join('; ')}`, { gates });
  }
  const { policy } = gateInputs;
  const promotion: Promotion = {
    id: command.id,
    releaseId: input.releaseId,
    releaseName: gateInputs.release.name,
    sourceEnvironmentId: gateInputs.previousEnvironment?.id ?? null,
    sourceEnvironmentName: gateInputs.previousEnvironment?.name ?? null,
    targetEnvironmentId: input.targetEnvironmentId,
    targetEnvironmentName: gateInputs.environment.name,
    status: 'pending',
    requestedBy: ctx.actor.userId,
    requestedByEmail: ctx.actor.email ?? null,
    requestedAt: ctx.now,
    reason: input.reason,
    changeId: input.changeId ?? null,
    approvals: [],
    approvalCount: 0,
    requiredApprovals: policy.requiredApprovals,
    policy,
    gateInputs,
    gates,
    expiresAt: expiryOf(policy.autoExpireHours, ctx),
    heldUntil: null,
    decidedAt: null,
    decision: null,
    statusReason: null,
    completedAt: null,
    updatedAt: ctx.now,
    version: 1,
  };
  const { id: _id, ...after } = promotion;
  return { next: promotion, events: [{ action: 'promotion.create', before: {}, after: { status: after.status, releaseId: after.releaseId, targetEnvironmentId: after.targetEnvironmentId, reason: after.reason, gates } }] };
}

/** The expiry is fixed at the request: a later policy edit changes what approvals count, not how long the request stands. */
function expiryOf(hours: number | null, ctx: DecideContext): string | null {
  if (!hours) return null;
  const hourMs = (ctx.settings ?? DEFAULT_PROMOTION_SETTINGS).expiryHourMs;
  return new Date(Date.parse(ctx.now) + hours * hourMs).toISOString();
}

/** Recounts approvals and regates; moves to approved once enough approvals stand and nothing blocks. */
function settle(draft: Draft<Promotion>, ctx: DecideContext, action: string): void {
  const p = draft.value;
  const approvalCount = approvalCountOf(p.approvals, ctx.voterRule);
  const gates = evaluateGates(p.gateInputs, { now: ctx.now, requester: { userId: p.requestedBy, email: p.requestedByEmail }, approvals: p.approvals });
  const ready = approvalCount >= p.requiredApprovals && blockers(gates).length === 0;
  if (ready && UNDECIDED.includes(p.status)) {
    move(draft, 'approved', action, ctx, { approvalCount, gates, decision: 'allow', decidedAt: ctx.now });
  } else if (p.status === 'pending') {
    move(draft, 'awaiting_approval', action, ctx, { approvalCount, gates });
  } else {
    draft.apply(action, { approvalCount, gates });
  }
}

function approve(draft: Draft<Promotion>, input: ApprovePromotionBody, ctx: DecideContext, gated: boolean): void {
  const p = draft.value;
  checkDecider(p, ctx.actor, ctx.voterRule);
  const blocking = gated ? blockers(p.gates) : [];
  if (blocking.length) {
    throw new DomainError('rule', 'PROMOTION_BLOCKED', `Cannot approve while ${blocking.map((g) => g.gateName).join(', ')} fails: ${blocking.map((g) => g.message).join('; ')}`, { gates: p.gates });
  }
  const approval = {
    approverId: personKey(ctx.actor),
    approverName: ctx.actor.name ?? null,
    approverEmail: ctx.actor.email ?? null,
    decision: 'approved' as const,
    comment: input.comment ?? null,
    approvedAt: ctx.now,
    binding: bindingOf(p.gateInputs),
    invalidated: null,
  };
  draft.apply('promotion.approve', { approvals: [...p.approvals, approval] });
  settle(draft, ctx, 'promotion.approve');
}

function reject(draft: Draft<Promotion>, input: RejectPromotionBody, ctx: DecideContext): void {
  const p = draft.value;
  checkDecider(p, ctx.actor, ctx.voterRule);
  const rejection = {
    approverId: personKey(ctx.actor),
    approverName: ctx.actor.name ?? null,
    approverEmail: ctx.actor.email ?? null,
    decision: 'rejected' as const,
    comment: input.comment ?? input.reason,
    approvedAt: ctx.now,
    binding: bindingOf(p.gateInputs),
    invalidated: null,
  };
  move(draft, 'rejected', 'promotion.reject', ctx, { approvals: [...p.approvals, rejection], decision: 'deny', decidedAt: ctx.now, statusReason: input.reason, completedAt: ctx.now });
}

function cancel(draft: Draft<Promotion>, input: { reason?: string | null }, ctx: DecideContext): void {
  const p = draft.value;
  const heldApproved = p.status === 'approved' && p.heldUntil !== null;
  if (!UNDECIDED.includes(p.status) && !heldApproved) {
    throw new DomainError('invalid_state', isFinished(p.status) ? 'ALREADY_DECIDED' : 'INVALID_STATE_TRANSITION', `A promotion that is ${p.status} cannot be cancelled`, {
      currentStatus: p.status,
    });
  }
  if (!isRequester(ctx.actor, p) && !isApprover(ctx.actor, p.policy)) {
    throw new DomainError('forbidden', 'NOT_ALLOWED_TO_CANCEL', 'Only the requester or an approver may cancel this promotion');
  }
  move(draft, 'cancelled', 'promotion.cancel', ctx, { decision: 'deny', decidedAt: p.decidedAt ?? ctx.now, statusReason: input.reason ?? 'cancelled', completedAt: ctx.now, heldUntil: null });
}

function reevaluate(draft: Draft<Promotion>, gateInputs: GateInputs, ctx: DecideContext): void {
  const p = draft.value;
  if (!UNDECIDED.includes(p.status)) return;
  const { approvals, invalidated } = invalidateStale(p.approvals, bindingOf(gateInputs), ctx.now);
  draft.apply(invalidated.length ? 'promotion.approvals_invalidated' : 'promotion.reevaluate', {
    gateInputs,
    approvals,
    policy: gateInputs.policy,
    requiredApprovals: gateInputs.policy.requiredApprovals,
    releaseName: gateInputs.release.name,
  });
  settle(draft, ctx, 'promotion.reevaluate');
}

/**
 * The approved promotion goes back to awaiting_approval with the approvals whose binding moved marked invalidated
 * (and the reasons), bound from now on to the inputs that stand; approvals that still match keep counting.
 */
function rebind(draft: Draft<Promotion>, gateInputs: GateInputs, ctx: DecideContext): void {
  const p = draft.value;
  if (p.status !== 'approved') return;
  const { approvals, invalidated } = invalidateStale(p.approvals, bindingOf(gateInputs), ctx.now);
  if (invalidated.length === 0) return;
  move(draft, 'awaiting_approval', 'promotion.approvals_invalidated', ctx, {
    gateInputs,
    approvals,
    policy: gateInputs.policy,
    requiredApprovals: gateInputs.policy.requiredApprovals,
    releaseName: gateInputs.release.name,
    heldUntil: null,
    decision: null,
    decidedAt: null,
  });
  settle(draft, ctx, 'promotion.reevaluate');
}

import type { Actor } from '../actor';
import { Draft, type EntityEvent } from '../draft';
import { DomainError } from '../errors';
import { hasPermission } from '../permissions';
import type { AnalysisProgress, Rollout, RolloutPlan, RolloutState, RolloutVerdict } from './model';
import { DEFAULT_PROGRESS_DEADLINE_MS, HISTORY_KEPT } from './model';
import type { CreateRolloutBody, PromoteRolloutBody, RollbackRolloutBody, RolloutCommandBody } from './requests';
import { canMove, isFinished } from './state-machine';
import { parseDuration } from '../duration';
import { stepsOf } from './strategies';
import type { TrafficState } from '../traffic';

/**
 * Every rollout rule, written once: the workflow's validators call `decide` to
 * refuse a command before it enters history, and its handlers and its step
 * loop call it again under the lock. Pure: time and actor come in.
 */
export interface RolloutNames {
  environmentName: string;
  stableReleaseName: string;
  canaryReleaseName: string;
}

export type RolloutCommand =
  | { kind: 'create'; id: string; input: CreateRolloutBody; names: RolloutNames }
  | { kind: 'start'; input: RolloutCommandBody; plan: RolloutPlan }
  | { kind: 'advance'; input: RolloutCommandBody }
  | { kind: 'promote'; input: PromoteRolloutBody }
  | { kind: 'rollback'; input: RollbackRolloutBody }
  | { kind: 'pause'; input: RolloutCommandBody }
  | { kind: 'resume'; input: RolloutCommandBody }
  | { kind: 'retry'; input: RolloutCommandBody; plan?: RolloutPlan }
  // What the workflow's own step loop records (the system actor).
  | { kind: 'traffic'; stepIndex: number; traffic: TrafficState; canaryWeight: number; activeMatch: Rollout['activeMatch'] }
  | { kind: 'stepDone'; stepIndex: number }
  | { kind: 'hold'; stepIndex: number; reason: string }
  | { kind: 'measured'; stepIndex: number; verdict: RolloutVerdict; analysis: AnalysisProgress }
  | { kind: 'abort'; reason: string; traffic: TrafficState | null }
  | { kind: 'restored'; traffic: TrafficState }
  | { kind: 'complete'; traffic: TrafficState }
  | { kind: 'fail'; reason: string };

/** The commands people send (the rest are the workflow's own). */
export const OPERATOR_COMMANDS = ['start', 'advance', 'promote', 'rollback', 'pause', 'resume', 'retry'] as const;

export interface DecideContext {
  now: string;
  actor: Actor;
}

export interface RolloutDecision {
  next: Rollout;
  events: EntityEvent[];
}

export function decide(current: Rollout | undefined, command: RolloutCommand, ctx: DecideContext): RolloutDecision {
  if (command.kind === 'create') return create(current, command, ctx);
  if (!current) throw new DomainError('not_found', 'ROLLOUT_NOT_FOUND', 'The rollout does not exist yet');
  if ((OPERATOR_COMMANDS as readonly string[]).includes(command.kind) && !hasPermission(ctx.actor, 'rollout:operate')) {
    throw new DomainError('forbidden', 'FORBIDDEN', 'Operating a rollout needs the "rollout:operate" permission');
  }
  const draft = new Draft(current);
  const r = current;
  const by = ctx.actor.email ?? ctx.actor.userId;
  switch (command.kind) {
    case 'start':
      move(draft, 'running', 'rollout.start', ctx, command.input.reason, { plan: command.plan, startedAt: ctx.now, stepIndex: 0, stepStartedAt: ctx.now, pausedReason: null, analysis: null });
      break;
    case 'advance':
    case 'promote': {
      requireOneOf(r, ['running', 'paused'], command.kind);
      const full = command.kind === 'promote' && command.input.full;
      const stepIndex = full ? r.steps.length : Math.min(r.steps.length, r.stepIndex + 1);
      const action = full ? 'rollout.promote_full' : `rollout.${command.kind}`;
      move(draft, 'running', action, ctx, command.input.reason, { stepIndex, stepStartedAt: ctx.now, pausedReason: null, analysis: null });
      break;
    }
    case 'pause':
      requireOneOf(r, ['running'], 'pause');
      move(draft, 'paused', 'rollout.pause', ctx, command.input.reason, { pausedReason: `paused by ${by}${command.input.reason ? `: ${command.input.reason}` : ''}` });
      break;
    case 'resume': {
      requireOneOf(r, ['paused'], 'resume');
      // Resuming an indefinite pause step is going past it; anything else runs its current step again from the start.
      const step = r.steps[r.stepIndex];
      const past = step !== undefined && 'pause' in step && step.pause.durationMs === null;
      move(draft, 'running', 'rollout.resume', ctx, command.input.reason, { stepIndex: past ? r.stepIndex + 1 : r.stepIndex, stepStartedAt: ctx.now, pausedReason: null, analysis: null });
      break;
    }
    case 'rollback':
      if (r.state === 'aborted') throw new DomainError('invalid_state', 'INVALID_STATE_TRANSITION', 'The rollout is already aborted: traffic went back to stable', { currentState: r.state });
      move(draft, 'aborted', 'rollout.rollback', ctx, command.input.reason, { abortReason: `rolled back by ${by}: ${command.input.reason}`, pausedReason: null, completedAt: null });
      break;
    case 'retry': {
      requireOneOf(r, ['aborted', 'failed'], 'retry');
      const plan = command.plan ?? r.plan;
      if (!plan) throw new DomainError('invalid_state', 'ROLLOUT_NOT_STARTED', 'The rollout was never started: start it instead', { currentState: r.state });
      move(draft, 'running', 'rollout.retry', ctx, command.input.reason, { plan, stepIndex: 0, stepStartedAt: ctx.now, abortReason: null, pausedReason: null, analysis: null, startedAt: r.startedAt ?? ctx.now });
      break;
    }
    case 'traffic':
      if (r.state === 'running' && command.stepIndex === r.stepIndex) {
        draft.apply('rollout.traffic', { traffic: command.traffic, canaryWeight: command.canaryWeight, activeMatch: command.activeMatch });
        note(draft, ctx, 'rollout.traffic', `router reads ${command.traffic.canaryWeight}% canary`);
      }
      break;
    case 'stepDone':
      if (r.state === 'running' && command.stepIndex === r.stepIndex) {
        draft.apply('rollout.step', { stepIndex: r.stepIndex + 1, stepStartedAt: ctx.now, analysis: null });
      }
      break;
    case 'hold':
      if (r.state === 'running' && command.stepIndex === r.stepIndex) move(draft, 'paused', 'rollout.hold', ctx, command.reason, { pausedReason: command.reason });
      break;
    case 'measured':
      if (r.state === 'running' && command.stepIndex === r.stepIndex) draft.apply('rollout.measure', { lastVerdict: command.verdict, analysis: command.analysis });
      break;
    case 'abort':
      if (r.state === 'running' || r.state === 'paused') {
        move(draft, 'aborted', 'rollout.abort', ctx, command.reason, { abortReason: command.reason, pausedReason: null });
      }
      if (command.traffic) draft.apply('rollout.restored', { traffic: command.traffic, canaryWeight: command.traffic.canaryWeight, activeMatch: command.traffic.match });
      break;
    case 'restored':
      draft.apply('rollout.restored', { traffic: command.traffic, canaryWeight: command.traffic.canaryWeight, activeMatch: command.traffic.match });
      break;
    case 'complete':
      move(draft, 'completed', 'rollout.complete', ctx, null, { traffic: command.traffic, canaryWeight: command.traffic.canaryWeight, activeMatch: command.traffic.match, completedAt: ctx.now, pausedReason: null });
      break;
    case 'fail':
      if (!isFinished(r.state) && r.state !== 'aborted' && r.state !== 'failed') move(draft, 'failed', 'rollout.fail', ctx, command.reason, { abortReason: command.reason, pausedReason: null });
      break;
  }
  return result(draft, ctx);
}

function result(draft: Draft<Rollout>, ctx: DecideContext): RolloutDecision {
  if (!draft.changed) return { next: draft.original, events: [] };
  return { next: { ...draft.value, updatedAt: ctx.now, version: draft.original.version + 1 }, events: draft.events };
}

function requireOneOf(r: Rollout, states: RolloutState[], what: string): void {
  if (states.includes(r.state)) return;
  throw new DomainError('invalid_state', 'INVALID_STATE_TRANSITION', `A rollout that is ${r.state} cannot ${what} (only when ${states.join(' or ')})`, {
    currentState: r.state,
    allowedStates: states,
  });
}

function move(draft: Draft<Rollout>, to: RolloutState, action: string, ctx: DecideContext, reason: string | null | undefined, patch: Partial<Rollout>): void {
  const from = draft.value.state;
  if (from !== to && !canMove(from, to)) {
    throw new DomainError('invalid_state', 'INVALID_STATE_TRANSITION', `A rollout that is ${from} cannot become ${to}`, { currentState: from, requested: to });
  }
  draft.apply(action, { ...patch, state: to });
  note(draft, ctx, action, reason ?? null);
}

/** The who-and-why history on the record (the audit log has the full events). */
function note(draft: Draft<Rollout>, ctx: DecideContext, action: string, reason: string | null): void {
  const r = draft.value;
  const entry = { at: ctx.now, action, by: ctx.actor.email ?? ctx.actor.userId, reason, stepIndex: r.stepIndex, canaryWeight: r.canaryWeight };
  draft.value = { ...r, history: [...r.history, entry].slice(-HISTORY_KEPT) };
}

function create(current: Rollout | undefined, command: Extract<RolloutCommand, { kind: 'create' }>, ctx: DecideContext): RolloutDecision {
  if (current) throw new DomainError('invalid_state', 'ROLLOUT_EXISTS', 'This rollout was already created');
  const { input, names } = command;
  const rollout: Rollout = {
    id: command.id,
    name: input.name,
    environmentId: input.environmentId,
    environmentName: names.environmentName,
    stableReleaseId: input.stableReleaseId,
    stableReleaseName: names.stableReleaseName,
    canaryReleaseId: input.canaryReleaseId,
    canaryReleaseName: names.canaryReleaseName,
    strategy: input.strategy,
    steps: stepsOf(input),
    match: input.match ?? null,
    progressDeadlineMs: parseDuration(input.progressDeadline) ?? DEFAULT_PROGRESS_DEADLINE_MS,
    state: 'created',
    stepIndex: 0,
    canaryWeight: 0,
    activeMatch: null,
    stepStartedAt: null,
    pausedReason: null,
    abortReason: null,
    analysis: null,
    lastVerdict: null,
    traffic: null,
    plan: null,
    history: [{ at: ctx.now, action: 'rollout.create', by: ctx.actor.email ?? ctx.actor.userId, reason: null, stepIndex: 0, canaryWeight: 0 }],
    createdBy: ctx.actor.email ?? ctx.actor.userId,
    createdAt: ctx.now,
    startedAt: null,
    completedAt: null,
    updatedAt: ctx.now,
    version: 1,
  };
  return {
    next: rollout,
    events: [{ action: 'rollout.create', before: null, after: { name: rollout.name, strategy: rollout.strategy, environmentId: rollout.environmentId, stableReleaseId: rollout.stableReleaseId, canaryReleaseId: rollout.canaryReleaseId } }],
  };
}

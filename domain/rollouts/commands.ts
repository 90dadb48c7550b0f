import type { Actor } from '../actor';
import { Draft, type EntityEvent } from '../draft';
import { DomainError } from '../errors';
import { hasPermission } from '../permissions';
import type { AnalysisProgress, Rollout, RolloutDeployment, RolloutPlan, RolloutState, RolloutVerdict } from './model';
import { DEFAULT_PROGRESS_DEADLINE_MS, HISTORY_KEPT } from './model';
import type { CreateRolloutBody, PromoteRolloutBody, RollbackRolloutBody, RolloutCommandBody } from './requests';
import { canMove, isFinished } from './state-machine';
import { parseDuration } from '../duration';
import { describeStep, stepKind } from './steps';
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
  | { kind: 'fail'; reason: string }
  // A deployment job of the canary targets: started (its id), then ended.
  | { kind: 'deploying'; which: DeploymentKind; jobId: string }
  | { kind: 'deployed'; which: DeploymentKind; jobId: string; ok: boolean; reason: string | null };

export type DeploymentKind = 'canaryDeployment' | 'scaleDown';

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
      move(draft, 'running', 'rollout.start', ctx, command.input.reason, {
        plan: command.plan,
        startedAt: ctx.now,
        stepIndex: 0,
        stepStartedAt: ctx.now,
        pausedReason: null,
        pausedAt: null,
        analysis: null,
        canaryDeployment: canaryDeploymentOf(r, command.plan.canaryToDeploy ?? []),
      });
      break;
    case 'advance':
    case 'promote': {
      requireOneOf(r, ['running', 'paused'], command.kind);
      requireCanaryDeployed(r, command.kind);
      if (command.kind === 'advance') requireWaiting(r);
      const full = command.kind === 'promote' && command.input.full;
      const stepIndex = full ? r.steps.length : Math.min(r.steps.length, r.stepIndex + 1);
      const action = full ? 'rollout.promote_full' : `rollout.${command.kind}`;
      move(draft, 'running', action, ctx, command.input.reason, { stepIndex, stepStartedAt: ctx.now, pausedReason: null, pausedAt: null, analysis: null });
      break;
    }
    case 'pause':
      requireOneOf(r, ['running'], 'pause');
      move(draft, 'paused', 'rollout.pause', ctx, command.input.reason, { pausedReason: `paused by ${by}${command.input.reason ? `: ${command.input.reason}` : ''}`, pausedAt: ctx.now });
      break;
    case 'resume': {
      requireOneOf(r, ['paused'], 'resume');
      if (r.pausedAt) {
        // A person's pause stopped the clock: a timed pause keeps what was left of it, an analysis its measurements and the rest of its window.
        const held = Math.max(0, Date.parse(ctx.now) - Date.parse(r.pausedAt));
        const later = (at: string | null) => (at === null ? null : new Date(Date.parse(at) + held).toISOString());
        const analysis = r.analysis && r.analysis.stepIndex === r.stepIndex ? { ...r.analysis, startedAt: later(r.analysis.startedAt)! } : null;
        move(draft, 'running', 'rollout.resume', ctx, command.input.reason, { stepStartedAt: later(r.stepStartedAt), pausedReason: null, pausedAt: null, analysis });
        break;
      }
      // Held by the rollout itself: an indefinite pause step is passed; an inconclusive analysis measures again from the start.
      const step = r.steps[r.stepIndex];
      const past = step !== undefined && 'pause' in step && step.pause.durationMs === null;
      move(draft, 'running', 'rollout.resume', ctx, command.input.reason, { stepIndex: past ? r.stepIndex + 1 : r.stepIndex, stepStartedAt: ctx.now, pausedReason: null, analysis: null });
      break;
    }
    case 'rollback':
      if (r.state === 'aborted') throw new DomainError('invalid_state', 'INVALID_STATE_TRANSITION', 'The rollout is already aborted: traffic went back to stable', { currentState: r.state });
      move(draft, 'aborted', 'rollout.rollback', ctx, command.input.reason, { abortReason: `rolled back by ${by}: ${command.input.reason}`, pausedReason: null, pausedAt: null, completedAt: null, scaleDown: scaleDownOf(r) });
      break;
    case 'retry': {
      requireOneOf(r, ['aborted', 'failed'], 'retry');
      const plan = command.plan ?? r.plan;
      if (!plan) throw new DomainError('invalid_state', 'ROLLOUT_NOT_STARTED', 'The rollout was never started: start it instead', { currentState: r.state });
      // The plan's stickers say which canary targets a finished scale-down put back on stable; one still running adds them all when it ends.
      const toDeploy = plan.canaryToDeploy ?? [];
      move(draft, 'running', 'rollout.retry', ctx, command.input.reason, {
        plan,
        stepIndex: 0,
        stepStartedAt: ctx.now,
        abortReason: null,
        pausedReason: null,
        pausedAt: null,
        analysis: null,
        startedAt: r.startedAt ?? ctx.now,
        canaryDeployment: canaryDeploymentOf(r, toDeploy),
        // A scale-down not begun yet is not needed any more.
        scaleDown: r.scaleDown?.status === 'pending' ? null : r.scaleDown,
      });
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
      if (r.state === 'running' && command.stepIndex === r.stepIndex) move(draft, 'paused', 'rollout.hold', ctx, command.reason, { pausedReason: command.reason, pausedAt: null });
      break;
    case 'measured':
      if (r.state === 'running' && command.stepIndex === r.stepIndex) draft.apply('rollout.measure', { lastVerdict: command.verdict, analysis: command.analysis });
      break;
    case 'abort':
      if (r.state === 'running' || r.state === 'paused') {
        move(draft, 'aborted', 'rollout.abort', ctx, command.reason, { abortReason: command.reason, pausedReason: null, pausedAt: null, scaleDown: scaleDownOf(r) });
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
      if (!isFinished(r.state) && r.state !== 'aborted' && r.state !== 'failed') move(draft, 'failed', 'rollout.fail', ctx, command.reason, { abortReason: command.reason, pausedReason: null, pausedAt: null });
      break;
    case 'deploying': {
      const d = r[command.which];
      if (d?.status === 'pending') {
        const action = command.which === 'scaleDown' ? 'rollout.scale_down' : 'rollout.deploy_canary';
        draft.apply(action, { [command.which]: { ...d, status: 'deploying', jobId: command.jobId } });
        note(draft, ctx, action, `deployment job ${command.jobId}: ${d.releaseName} to ${d.targetIds.length} canary target(s)`);
      }
      break;
    }
    case 'deployed': {
      const d = r[command.which];
      if (d?.jobId === command.jobId && d.status === 'deploying') {
        const action = command.which === 'scaleDown' ? (command.ok ? 'rollout.scaled_down' : 'rollout.scale_down_failed') : command.ok ? 'rollout.canary_deployed' : 'rollout.canary_deploy_failed';
        const reason = command.ok ? `deployment job ${command.jobId} deployed ${d.releaseName}` : `deployment job ${command.jobId} failed: ${command.reason ?? 'no reason given'}`;
        // The first step's clock starts once the canary runs: a slow deployment is not a step that made no progress.
        const restart = command.which === 'canaryDeployment' && command.ok ? { stepStartedAt: ctx.now } : {};
        // Retried while it scaled down: the canary targets now run stable, and get the canary release again before any step.
        const redeploy = command.which === 'scaleDown' && command.ok && (r.state === 'running' || r.state === 'paused') ? { canaryDeployment: canaryDeploymentOf(r, d.targetIds) } : {};
        draft.apply(action, { [command.which]: { ...d, status: command.ok ? 'deployed' : 'failed', reason }, ...restart, ...redeploy });
        note(draft, ctx, action, reason);
      }
      break;
    }
  }
  return result(draft, ctx);
}

/** The canary release to the canary targets that do not run it (null: all do). */
function canaryDeploymentOf(r: Rollout, targetIds: string[]): RolloutDeployment | null {
  if (targetIds.length === 0) return null;
  return { releaseId: r.canaryReleaseId, releaseName: r.canaryReleaseName, targetIds, jobId: null, status: 'pending', reason: null };
}

/** After traffic is back on stable: the stable release to every canary target, so the canary version serves nowhere. */
function scaleDownOf(r: Rollout): RolloutDeployment | null {
  if (!r.plan) return null;
  return { releaseId: r.stableReleaseId, releaseName: r.stableReleaseName, targetIds: r.plan.canary.map((b) => b.targetId), jobId: null, status: 'pending', reason: null };
}

function requireCanaryDeployed(r: Rollout, what: string): void {
  const d = r.canaryDeployment;
  if (!d || d.status === 'deployed') return;
  throw new DomainError('invalid_state', 'CANARY_DEPLOYING', `The canary release is still being deployed to the canary targets (job ${d.jobId ?? 'starting'}): ${what} once it runs there`, {
    currentState: r.state,
    jobId: d.jobId,
  });
}

/** advance ends the wait the rollout is in (a pause, an analysis): never a step it is applying, so a late or early advance cannot skip one. */
function requireWaiting(r: Rollout): void {
  const step = r.steps[r.stepIndex];
  const kind = step ? stepKind(step) : null;
  if (kind === 'pause' || kind === 'analysis') return;
  throw new DomainError('invalid_state', 'NOT_WAITING', `The rollout is not waiting on a pause or an analysis (step ${r.stepIndex + 1}: ${describeStep(step)}): advance ends such a wait; promote goes to the next step`, {
    currentState: r.state,
    stepIndex: r.stepIndex,
    step: describeStep(step),
  });
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
    trafficIntegrationId: input.trafficIntegrationId ?? null,
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
    canaryDeployment: null,
    scaleDown: null,
    pausedAt: null,
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

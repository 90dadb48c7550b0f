import type { RouterBackend, TrafficMatch, TrafficState } from '../traffic';
import type { AnalysisSpec, RolloutStep } from './steps';
import type { Judgement, Sample, Thresholds } from './judge';

/** A rollout as the API serves it and its workflow keeps it. */
export const ROLLOUT_STATES = ['created', 'running', 'paused', 'completed', 'aborted', 'failed'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_STRATEGIES = ['canary', 'blueGreen', 'abTest'] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

/** Who did what to a rollout, and why: every command and every automatic move. */
export interface RolloutHistoryEntry {
  at: string;
  action: string;
  by: string;
  reason: string | null;
  stepIndex: number;
  canaryWeight: number;
}

/** Where the rollout sends traffic: resolved when it starts (the router agent, and the backends of each variant). */
export interface RolloutPlan {
  /** The agent driving the router; null when a traffic integration does. */
  routerAgentId: string | null;
  routerProvider: string;
  /** Where clients reach the route; with a traffic integration, its name. */
  routerListen: string;
  /** The traffic-webhook integration that sets and reads the weights instead of an agent (absent on plans made before it existed). */
  trafficIntegration?: { id: string; name: string };
  stable: RouterBackend[];
  canary: RouterBackend[];
  stableVersion: string;
  canaryVersion: string;
  /** Canary targets that do not run the canary release yet: the rollout deploys it to them before any traffic moves. */
  canaryToDeploy?: string[];
}

/**
 * A deployment job the rollout runs on its canary targets (a deploymentJob
 * child): the canary release before traffic moves, or, after a rollback, the
 * stable release again (scale-down) so the canary version serves nowhere.
 */
export interface RolloutDeployment {
  releaseId: string;
  releaseName: string;
  targetIds: string[];
  jobId: string | null;
  status: 'pending' | 'deploying' | 'deployed' | 'failed';
  reason: string | null;
}

/** Where the current analysis stands (it lives in the workflow; a worker restart resumes it). */
export interface AnalysisProgress {
  stepIndex: number;
  startedAt: string;
  measurements: number;
  failures: number;
  inconclusive: number;
  passes: number;
}

export interface RolloutVerdict extends Judgement {
  stepIndex: number;
  at: string;
  metric: AnalysisSpec['metric'];
  provider: AnalysisSpec['provider'];
  sample: Sample;
  thresholds: Thresholds;
  /** The integration that answered the measurement (prometheus by integrationId). */
  integration?: { id: string; name: string } | null;
}

export interface Rollout {
  id: string;
  name: string;
  environmentId: string;
  environmentName: string;
  stableReleaseId: string;
  stableReleaseName: string;
  canaryReleaseId: string;
  canaryReleaseName: string;
  strategy: RolloutStrategy;
  /** A traffic-webhook integration that moves the weights instead of a router agent (absent on rollouts made before it existed). */
  trafficIntegrationId?: string | null;
  /** The steps as walked (blue-green and A/B steps are expanded from their parameters at create). */
  steps: RolloutStep[];
  /** A/B: requests matching this go to the canary whatever its weight. */
  match: TrafficMatch | null;
  /** Per-step limit on making progress (ms); indefinite pauses are exempt. */
  progressDeadlineMs: number;
  state: RolloutState;
  stepIndex: number;
  /** The weight (percent to canary) the rollout last asked for and the router confirmed. */
  canaryWeight: number;
  /** The match in force on the router now (A/B match or a blue-green preview). */
  activeMatch: TrafficMatch | null;
  stepStartedAt: string | null;
  pausedReason: string | null;
  /** Why it ended aborted or failed. */
  abortReason: string | null;
  analysis: AnalysisProgress | null;
  lastVerdict: RolloutVerdict | null;
  /** What the router read back after the last traffic change. */
  traffic: TrafficState | null;
  plan: RolloutPlan | null;
  /** The canary release deployed to the canary targets at start or retry (null: they already ran it). */
  canaryDeployment?: RolloutDeployment | null;
  /** After a rollback or abort: the stable release deployed back to the canary targets. */
  scaleDown?: RolloutDeployment | null;
  /** When a person paused it: resume goes on with what was left of a timed pause or an analysis window. */
  pausedAt?: string | null;
  history: RolloutHistoryEntry[];
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
  version: number;
}

export const DEFAULT_PROGRESS_DEADLINE_MS = 10 * 60_000;
/** The history kept on the record; the audit log keeps every entry. */
export const HISTORY_KEPT = 100;

/**
 * Deployment jobs as the API serves them and the deploymentJob workflow keeps
 * them, plus the shapes that cross process boundaries: the plan the
 * orchestrator loads, the task an agent runs, and what the agent answers.
 * Types only: the rules live in strategy.ts and decisions.ts.
 */

export const JOB_STATUSES = ['queued', 'running', 'paused', 'rolling_back', 'deployed', 'failed', 'rolled_back', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['deployed', 'failed', 'rolled_back', 'cancelled'];

export const TASK_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export type TaskPhase = 'deploy' | 'rollback';
/** rollout: a rollout's canary targets (the canary release before traffic moves, the stable one again at scale-down). */
export type JobKind = 'promotion' | 'rollback' | 'rollout';

export { FAILURE_POLICIES, STRATEGY_TYPES, type EnvironmentDeploymentSettings, type FailurePolicy, type HealthCheck, type Strategy } from '../inventory-fields';
import type { EnvironmentDeploymentSettings, FailurePolicy, HealthCheck, Strategy } from '../inventory-fields';

export interface StickerRef {
  releaseId: string;
  releaseName: string;
  version: string;
  digests: Record<string, string | null>;
  jobId: string;
  deployedAt: string;
}

export interface PlanComponent {
  componentId: string;
  name: string;
  version: string;
  digest: string | null;
  /** The component's deploy hook, else the environment's; null: nothing to run for it. */
  deployHook: string | null;
}

export interface PlanRelease {
  id: string;
  name: string;
  version: string;
  components: PlanComponent[];
}

export interface PlanTarget {
  id: string;
  name: string;
  agentId: string | null;
  labels: Record<string, string>;
  properties: Record<string, string>;
  healthCheck: HealthCheck | null;
  /** What the target ran before this job, from its version sticker: the release a rollback returns it to. */
  previous: StickerRef | null;
}

/** What the orchestrator loads once, at the job's start: it never changes under a running job. */
export interface JobPlan {
  environment: { id: string; name: string };
  release: PlanRelease;
  targets: PlanTarget[];
  /** The release each previous sticker names, with its components and hooks, by release id (for rollback tasks). */
  previousReleases: Record<string, PlanRelease>;
}

export interface TaskError {
  code: string;
  message: string;
}

export interface DeploymentTask {
  id: string;
  /** Bumped by the workflow on every change; the row is written only when newer. */
  version: number;
  jobId: string;
  targetId: string;
  targetName: string;
  agentId: string | null;
  phase: TaskPhase;
  attempt: number;
  status: TaskStatus;
  releaseId: string;
  releaseName: string;
  releaseVersion: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  healthChecks: number;
  error: TaskError | null;
  /** Set when the task was cancelled while its hook ran: SIGTERM, or SIGKILL after the grace period. */
  stoppedBy: 'SIGTERM' | 'SIGKILL' | null;
  log: { size: number; capped: boolean; capBytes: number };
}

export type OperatorAction = 'retry' | 'skip' | 'rollback' | 'abort';

export interface OperatorDecision {
  action: OperatorAction | 'cancel';
  taskId: string | null;
  targetId: string | null;
  by: string;
  reason: string | null;
  at: string;
}

export interface JobProgress {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /** Targets whose deploy task a cancel stopped (or never let start). */
  cancelled: number;
  running: number;
  pending: number;
}

export interface DeploymentJob {
  id: string;
  version: number;
  kind: JobKind;
  status: JobStatus;
  statusReason: string | null;
  environmentId: string;
  environmentName: string;
  releaseId: string;
  releaseName: string;
  releaseVersion: string;
  promotionId: string | null;
  rollbackId: string | null;
  strategy: Strategy;
  failurePolicy: FailurePolicy;
  labelSelector: Record<string, string>;
  requestedBy: string;
  /** Where a queued job stands: 1 = next. Null once it runs. */
  queuePosition: number | null;
  /** The failure a paused job waits on; an operator answers it with retry, skip, rollback or abort. */
  pausedOn: { taskId: string; targetId: string; targetName: string; error: TaskError } | null;
  progress: JobProgress;
  /** Current batch (1-based) of batches; null until the job runs. */
  batch: { index: number; count: number } | null;
  decisions: OperatorDecision[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

export interface DeploymentSettings {
  heartbeatTimeoutMs: number;
  pickupTimeoutMs: number;
  taskTimeoutMs: number;
  cancelGraceMs: number;
  logCapBytes: number;
  /** The job continues as new (between batches) once its history is this long, or when Temporal suggests it; absent: only then. */
  maxHistoryEvents?: number;
}

/** The deploymentJob workflow's input. */
export interface DeploymentJobInput {
  tenantId: string;
  jobId: string;
  kind: JobKind;
  environmentId: string;
  releaseId: string;
  promotionId?: string | null;
  rollbackId?: string | null;
  /** Absent: the environment's settings. */
  strategy?: Strategy | null;
  failurePolicy?: FailurePolicy | null;
  labelSelector?: Record<string, string>;
  /** Only these targets of the environment (a rollout's canary targets); absent: every target the selector matches. */
  targetIds?: string[];
  requestedBy: string;
  reason?: string | null;
  settings: DeploymentSettings;
  maxHistoryEvents?: number;
}

/** What the agent's deployTarget activity is given: everything it needs, nothing it must look up. */
export interface AgentTaskInput {
  tenantId: string;
  jobId: string;
  taskId: string;
  phase: TaskPhase;
  attempt: number;
  release: PlanRelease;
  target: Pick<PlanTarget, 'id' | 'name' | 'labels' | 'properties' | 'healthCheck'>;
  environment: { id: string; name: string };
  cancelGraceMs: number;
  logCapBytes: number;
}

/** The agent's answer for one task. A failed hook or health check is an outcome, not an exception. */
export interface AgentTaskResult {
  outcome: 'succeeded' | 'failed';
  exitCode: number | null;
  healthChecks: number;
  error: TaskError | null;
  /** True when the ledger showed this (job, target, phase, attempt) had already been claimed: the hook was not run again. */
  alreadyClaimed: boolean;
  startedAt: string;
  finishedAt: string;
}

export const agentTaskQueue = (agentId: string) => `agent-${agentId}`;

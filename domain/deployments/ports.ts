import type { AgentTaskInput, AgentTaskResult, DeploymentJob, DeploymentTask, EnvironmentDeploymentSettings, JobPlan, PlanRelease } from './model';
import type { TargetHealthInput, TargetHealthResult } from './target-health';

export interface StickerOutcome {
  recorded: boolean;
  /** No ledger claim backs the success: the task is to be recorded failed (UNCLAIMED_RESULT). */
  unclaimed: boolean;
}

/**
 * The activities the deploymentJob workflow calls, as types: the orchestrator's
 * (Postgres, on the orchestrator queue) and the agent's (on `agent-<id>`).
 * activities/deployments implements the first, agent/activities (the agent process, worker/agent.ts) the second.
 */
export interface DeploymentActivities {
  /** The environment, the release with each component's hook, the chosen targets with their agents and stickers. */
  loadDeploymentPlan(input: {
    tenantId: string;
    environmentId: string;
    releaseId: string;
    /** null: the environment's targetLabels (domain/deployments/strategy.ts effectiveLabelSelector). */
    labelSelector: Record<string, string> | null;
    /** Only these targets (a rollout's canary targets); null: every target the selector matches. */
    targetIds?: string[] | null;
  }): Promise<{ plan: JobPlan; settings: EnvironmentDeploymentSettings }>;
  /** Upsert the job row when job.version is newer; publishes a change event; a `deployed` job also records release_deployments once. */
  persistDeploymentJob(input: { tenantId: string; job: DeploymentJob; requestId?: string | null }): Promise<void>;
  /** Upsert a task row when task.version is newer; publishes a change event. */
  persistDeploymentTask(input: { tenantId: string; task: DeploymentTask }): Promise<void>;
  /**
   * After a succeeded task: the target's version sticker (current and history) names the release it now runs — if the
   * ledger holds the claim of the task's agent for that attempt; else nothing is written and `unclaimed` says why.
   */
  recordSticker(input: { tenantId: string; task: DeploymentTask; release: PlanRelease; deployedAt: string }): Promise<StickerOutcome | void>;
  /** Take the environment's one deployment slot if free and this job is the oldest waiting; else where it stands in line. */
  acquireEnvironmentSlot(input: { tenantId: string; environmentId: string; jobId: string }): Promise<{ acquired: boolean; position: number; holderJobId: string | null }>;
  /** Give the slot back (idempotent); answers the next waiting job so the workflow can wake it. */
  releaseEnvironmentSlot(input: { tenantId: string; environmentId: string; jobId: string }): Promise<{ nextJobId: string | null }>;
}

export interface AgentActivities {
  /** Runs the release's hooks on one target, then its health check; heartbeats throughout. */
  deployTarget(input: AgentTaskInput): Promise<AgentTaskResult>;
  /** Runs the target's health check now, with its retries, from the agent's host; heartbeats throughout. */
  checkTargetHealth(input: TargetHealthInput): Promise<TargetHealthResult>;
}

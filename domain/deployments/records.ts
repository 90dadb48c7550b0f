import type { DeploymentJob, DeploymentJobInput, DeploymentTask, JobPlan, PlanRelease, PlanTarget, TaskPhase } from './model';
import { jobProgress } from './progress';

/**
 * A job and a task as they are first written, before anything has run: the
 * deploymentJob workflow fills in the rest as the job moves on.
 */

/** A queued job; `plan` is null when it could not be loaded, and the job then names its environment and release by id. */
export function newJob(input: DeploymentJobInput, plan: JobPlan | null, labelSelector: Record<string, string>, at: string): DeploymentJob {
  return {
    id: input.jobId,
    version: 1,
    kind: input.kind,
    status: 'queued',
    statusReason: input.reason ?? null,
    environmentId: input.environmentId,
    environmentName: plan?.environment.name ?? input.environmentId,
    releaseId: input.releaseId,
    releaseName: plan?.release.name ?? input.releaseId,
    releaseVersion: plan?.release.version ?? '',
    promotionId: input.promotionId ?? null,
    rollbackId: input.rollbackId ?? null,
    strategy: input.strategy ?? { type: 'all-at-once' },
    failurePolicy: input.failurePolicy ?? 'rollback',
    labelSelector,
    requestedBy: input.requestedBy,
    queuePosition: null,
    pausedOn: null,
    progress: jobProgress(plan?.targets.map((t) => t.id) ?? [], []),
    batch: null,
    decisions: [],
    createdAt: at,
    startedAt: null,
    finishedAt: null,
    updatedAt: at,
  };
}

export interface NewTask {
  id: string;
  jobId: string;
  target: PlanTarget;
  release: PlanRelease;
  phase: TaskPhase;
  attempt: number;
  at: string;
  logCapBytes: number;
}

/** A task shown running from the start; one that cannot run (no agent, a cancel asked for) ends at once, at the same time. */
export function newTask({ id, jobId, target, release, phase, attempt, at, logCapBytes }: NewTask): DeploymentTask {
  return {
    id,
    version: 1,
    jobId,
    targetId: target.id,
    targetName: target.name,
    agentId: target.agentId,
    phase,
    attempt,
    status: 'running',
    releaseId: release.id,
    releaseName: release.name,
    releaseVersion: release.version,
    startedAt: at,
    finishedAt: null,
    exitCode: null,
    healthChecks: 0,
    error: null,
    stoppedBy: null,
    log: { size: 0, capped: false, capBytes: logCapBytes },
  };
}

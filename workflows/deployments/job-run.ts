import * as wf from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { CommandMeta } from '../../domain/actor';
import { applyCancelRequest, applyFailureDecision, cancelledReason, checkCancel, checkFailureDecision, isFinished, type FailureDecisionCommand } from '../../domain/deployments/decisions';
import type { DeploymentJob, DeploymentTask, JobPlan, PlanTarget } from '../../domain/deployments/model';
import type { DeploymentActivities } from '../../domain/deployments/ports';
import { jobDetails, jobProgress, latestTasks } from '../../domain/deployments/progress';
import { ENTITY_ACTIVITY_OPTIONS, showInUi } from '../entity';
import { rethrowAsFailure } from '../failures';
import { searchAttributesOf, type DeploymentJobWorkflowInput } from './messages';

export const orchestrator = wf.proxyActivities<DeploymentActivities>(ENTITY_ACTIVITY_OPTIONS);

/** The longest a cancel update waits for the job to end before answering with the cancel recorded: under the API's command timeout. */
const CANCEL_ANSWER_MAX_MS = 20_000;

/**
 * What a job carries across continue-as-new. A queued job has run nothing
 * yet: the job and its plan are all there is. A job whose history grew full
 * between two batches carries its rollout too: the batches (target ids, as
 * planned when it started) and where it stands, and each target's newest
 * deploy task, which is all that progress, the details and a rollback read
 * (older attempts are in Postgres).
 */
export interface CarriedDeploymentJob {
  job: DeploymentJob;
  plan: JobPlan;
  rollout?: CarriedRollout;
  /** A cancel that arrived as the run was handing over: the next run ends the job cancelled. */
  cancelling?: string;
}

export interface CarriedRollout {
  /** Index into `batches` of the batch to run next. */
  next: number;
  batches: string[][];
  tasks: DeploymentTask[];
}

export type JobRunInput = DeploymentJobWorkflowInput & { carried?: CarriedDeploymentJob };

/**
 * One run of a deployment job: its state, and how a change of it is persisted
 * and shown. The workflow (deployment-job.ts) wires handlers to it and drives
 * it; the slot queue, the tasks, the failure policy and the rollout add
 * behaviour to it from their own files. Every change of the job or a task is
 * persisted at once, so the API's rows follow the workflow.
 */
export class JobRun {
  readonly tenantId: string;
  readonly jobId: string;
  readonly settings: JobRunInput['settings'];
  /** Operators' answers and the job's own steps change the job one at a time. */
  readonly lock = new Mutex();
  readonly taskById = new Map<string, DeploymentTask>();
  /** Agents' activities run here, so a cancel reaches them (through their heartbeats) and nothing else. */
  readonly tasksScope = new wf.CancellationScope();

  plan: JobPlan | null;
  job: DeploymentJob | null;
  /** The newest job the database holds: what updates answer with. */
  persisted: DeploymentJob | null;
  slotFreed = false;
  slotRequested: boolean;
  /** Whether the job had to wait for the environment (a carried job waited before continuing as new). */
  waitedInQueue: boolean;
  /** Set when the job's history grew full (queued, or between batches): it continues as new instead of ending. */
  continuing = false;
  /** The rollout this run took over from the one before (continue-as-new between batches); null when it starts afresh. */
  readonly resumed: CarriedRollout | null;
  /** The rollout to hand to the next run, once `continuing` between batches. */
  private handOver: Omit<CarriedRollout, 'tasks'> | null = null;
  /** Set once a cancel is asked for: why the job ends cancelled. */
  cancelling: string | null = null;
  /** An operator's answer to the failure the job is paused on, until the policy takes it. */
  answer: FailureDecisionCommand | null = null;

  constructor(readonly input: JobRunInput) {
    this.tenantId = input.tenantId;
    this.jobId = input.jobId;
    this.settings = input.settings;
    this.plan = input.carried?.plan ?? null;
    this.job = input.carried?.job ?? null;
    this.persisted = this.job;
    this.resumed = input.carried?.rollout ?? null;
    this.cancelling = input.carried?.cancelling ?? null;
    for (const task of this.resumed?.tasks ?? []) this.taskById.set(task.id, task);
    this.slotRequested = Boolean(input.carried);
    // A resumed rollout holds the slot and its plan since it started; only a job carried while queued waited.
    this.waitedInQueue = Boolean(input.carried) && !this.resumed;
  }

  /** The history length past which the job continues as new (besides Temporal's own suggestion). */
  get maxHistoryEvents(): number | undefined {
    return this.input.maxHistoryEvents ?? this.settings.maxHistoryEvents;
  }

  /** Ends this run between batches: the next run starts at batch `next` of `batches`. */
  continueAt(next: number, batches: ReadonlyArray<readonly PlanTarget[]>): void {
    this.continuing = true;
    this.handOver = { next, batches: batches.map((batch) => batch.map((t) => t.id)) };
  }

  /** The next run's input: the job, its plan and, mid-rollout, where the rollout stands. */
  carry(): CarriedDeploymentJob {
    const carried = { job: this.job!, plan: this.plan! };
    if (!this.handOver) return carried;
    return {
      ...carried,
      rollout: { ...this.handOver, tasks: [...latestTasks(this.tasks(), 'deploy').values()] },
      ...(this.cancelling !== null ? { cancelling: this.cancelling } : {}),
    };
  }

  now(): string {
    return new Date(Date.now()).toISOString();
  }

  tasks(): DeploymentTask[] {
    return [...this.taskById.values()];
  }

  targetIds(): string[] {
    return this.plan?.targets.map((t) => t.id) ?? [];
  }

  targetOf(id: string): PlanTarget {
    return this.plan!.targets.find((t) => t.id === id)!;
  }

  /** The decideFailure update: records the operator's answer for the paused job to take. */
  answerFailure(command: FailureDecisionCommand, meta: CommandMeta): Promise<DeploymentJob> {
    return this.lock.runExclusive(async () => {
      // Again under the lock: of two operators answering one failure, the second finds it answered.
      rethrowAsFailure(() => checkFailureDecision(this.job, command));
      const at = this.now();
      if (command.action === 'skip') {
        const failed = this.taskById.get(command.taskId)!;
        const skipped = { ...failed, status: 'skipped' as const, version: failed.version + 1 };
        this.taskById.set(skipped.id, skipped);
        await Promise.all([this.saveTask(skipped), this.commit(applyFailureDecision(this.job!, command, meta.actor, at), meta.requestId)]);
      } else {
        await this.commit(applyFailureDecision(this.job!, command, meta.actor, at), meta.requestId);
      }
      this.answer = command;
      return this.persisted!;
    });
  }

  /** The cancel update: records the cancel, stops the agents' tasks, and answers with the job's end when it comes soon. */
  async cancel(reason: string | null | undefined, meta: CommandMeta): Promise<DeploymentJob> {
    await wf.condition(() => this.job !== null);
    await this.lock.runExclusive(async () => {
      rethrowAsFailure(() => checkCancel(this.job));
      if (this.cancelling !== null) return;
      const requested = applyCancelRequest(this.job!, reason, meta.actor, this.now());
      this.cancelling = cancelledReason(requested);
      this.tasksScope.cancel();
      await this.commit(requested, meta.requestId);
    });
    // Running hooks get SIGTERM, then SIGKILL after the grace period; answer with the end when it comes soon.
    const wait = Math.min(CANCEL_ANSWER_MAX_MS, this.settings.cancelGraceMs + this.settings.heartbeatTimeoutMs + 2_000);
    // A run handing its rollout over ends the job in the next run: answer now with the cancel recorded.
    await wf.condition(() => (this.persisted !== null && isFinished(this.persisted.status)) || this.handOver !== null, wait);
    return this.persisted!;
  }

  async finishCancelled(): Promise<void> {
    if (isFinished(this.job!.status)) return;
    await this.commit({ status: 'cancelled', statusReason: this.cancelling ?? 'cancelled', finishedAt: this.now(), pausedOn: null, queuePosition: null });
  }

  async saveTask(task: DeploymentTask): Promise<DeploymentTask> {
    this.taskById.set(task.id, task);
    await wf.CancellationScope.nonCancellable(() =>
      orchestrator.persistDeploymentTask.executeWithOptions(
        { ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist task ${task.targetName} ${task.phase}#${task.attempt} v${task.version}: ${task.status}` },
        [{ tenantId: this.tenantId, task }],
      ),
    );
    return task;
  }

  /** The job with `patch` applied, its progress recounted and its version bumped, persisted and shown. */
  commit(patch: Partial<DeploymentJob>, requestId?: string | null): Promise<DeploymentJob> {
    const job = this.job!;
    return this.save({ ...job, ...patch, progress: jobProgress(this.targetIds(), this.tasks()), version: job.version + 1, updatedAt: this.now() }, requestId);
  }

  async save(next: DeploymentJob, requestId?: string | null): Promise<DeploymentJob> {
    this.job = next;
    this.publish();
    await wf.CancellationScope.nonCancellable(() =>
      orchestrator.persistDeploymentJob.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist job v${next.version}: ${next.status}` }, [
        { tenantId: this.tenantId, job: next, requestId: requestId ?? null },
      ]),
    );
    if (!this.persisted || this.persisted.version < next.version) this.persisted = next;
    return next;
  }

  publish(): void {
    const { job, tenantId, jobId } = this;
    showInUi(searchAttributesOf(tenantId, jobId, job), job ? jobDetails(job, this.tasks()) : `Deployment job ${jobId}: loading its plan`);
  }
}

/**
 * A strategy's rollout: given a job that holds its environment's slot, it
 * marks the job running, runs its tasks (tasks.ts: `runTasks`), hands failed
 * ones to the failure policy (failure-policy.ts: `settleFailures`), and ends
 * the job: deployed, or as the policy or a cancel left it.
 */
export type Rollout = (run: JobRun) => Promise<void>;

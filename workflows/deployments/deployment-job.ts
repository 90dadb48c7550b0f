import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import { applyCancelRequest, applyFailureDecision, cancelledReason, checkCancel, checkFailureDecision, isFinished, type FailureDecisionCommand } from '../../domain/deployments/decisions';
import {
  agentTaskQueue,
  type AgentTaskInput,
  type DeploymentJob,
  type DeploymentTask,
  type JobPlan,
  type PlanRelease,
  type PlanTarget,
  type TaskPhase,
} from '../../domain/deployments/model';
import type { AgentActivities, DeploymentActivities } from '../../domain/deployments/ports';
import { compensationOutcome, describeTaskError } from '../../domain/deployments/outcome';
import { deployedReason, jobDetails, jobProgress, noTargetReason, queuedReason, unhealthyCount } from '../../domain/deployments/progress';
import { newJob, newTask } from '../../domain/deployments/records';
import { rollbackWork, type TargetWork } from '../../domain/deployments/rollback';
import { effectiveFailurePolicy, effectiveLabelSelector, effectiveStrategy, planBatches, toleratesFailures } from '../../domain/deployments/strategy';
import { agentError, cancelledError, hookFailedError, noAgentError, timeoutError, unclaimedError } from '../../domain/deployments/task-errors';
import { SA } from '../../domain/search-attributes';
import { workflowId } from '../../domain/workflow-ids';
import { ENTITY_ACTIVITY_OPTIONS, historyFull, showInUi } from '../entity';
import { rethrowAsFailure } from '../failures';
import {
  cancelDeploymentJob,
  decideDeploymentFailure,
  environmentSlotFreed,
  getDeploymentJob,
  type DeploymentJobWorkflowInput,
  type DeploymentJobWorkflowResult,
} from './messages';

const orchestrator = wf.proxyActivities<DeploymentActivities>(ENTITY_ACTIVITY_OPTIONS);
const agent = wf.proxyActivities<AgentActivities>({ startToCloseTimeout: '30 minutes', retry: { maximumAttempts: 1 } });

/** A queued job looks at the slot again this often even when no slotFreed signal arrives (one lost with a crashed job). */
const QUEUE_POLL_MS = 10_000;
/** The longest a cancel update waits for the job to end before answering with the cancel recorded: under the API's command timeout. */
const CANCEL_ANSWER_MAX_MS = 20_000;

/** What a queued job carries across continue-as-new: it has run nothing yet, so the job and its plan are all there is. */
export interface CarriedDeploymentJob {
  job: DeploymentJob;
  plan: JobPlan;
}

/**
 * One deployment of a release to an environment's targets, by the agents that
 * own them: waits its turn for the environment, runs the strategy's batches
 * (one activity per target on its agent's queue), and on a failure beyond
 * minHealthy follows the job's policy — roll every updated target back to the
 * release its sticker names, or pause for an operator to retry, skip, roll
 * back or abort. Every change of the job or a task is persisted at once, so
 * the API's rows follow the workflow.
 */
export async function deploymentJob(input: DeploymentJobWorkflowInput & { carried?: CarriedDeploymentJob }): Promise<DeploymentJobWorkflowResult> {
  const { tenantId, jobId, settings } = input;
  const now = () => new Date(Date.now()).toISOString();
  const lock = new Mutex();
  const taskById = new Map<string, DeploymentTask>();
  // Agents' activities run here, so a cancel reaches them (through their heartbeats) and nothing else.
  const tasksScope = new wf.CancellationScope();

  let plan: JobPlan | null = input.carried?.plan ?? null;
  let job: DeploymentJob | null = input.carried?.job ?? null;
  let persisted: DeploymentJob | null = job;
  let slotFreed = false;
  let slotRequested = Boolean(input.carried);
  /** Whether the job had to wait for the environment (a carried job waited before continuing as new). */
  let waitedInQueue = Boolean(input.carried);
  let continuing = false;
  /** Set once a cancel is asked for: why the job ends cancelled. */
  let cancelling: string | null = null;
  let answer: FailureDecisionCommand | null = null;

  const tasks = () => [...taskById.values()];
  const targetIds = () => plan?.targets.map((t) => t.id) ?? [];
  const targetOf = (id: string) => plan!.targets.find((t) => t.id === id)!;

  wf.setHandler(getDeploymentJob, () => job);
  wf.setHandler(environmentSlotFreed, () => {
    slotFreed = true;
  });
  wf.setHandler(
    decideDeploymentFailure,
    (command, meta) =>
      lock.runExclusive(async () => {
        // Again under the lock: of two operators answering one failure, the second finds it answered.
        rethrowAsFailure(() => checkFailureDecision(job, command));
        const at = now();
        if (command.action === 'skip') {
          const failed = taskById.get(command.taskId)!;
          const skipped = { ...failed, status: 'skipped' as const, version: failed.version + 1 };
          taskById.set(skipped.id, skipped);
          await Promise.all([saveTask(skipped), commit(applyFailureDecision(job!, command, meta.actor, at), meta.requestId)]);
        } else {
          await commit(applyFailureDecision(job!, command, meta.actor, at), meta.requestId);
        }
        answer = command;
        return persisted!;
      }),
    {
      validator: (command, _meta) => rethrowAsFailure(() => checkFailureDecision(job, command)),
      description: 'Answer the failure a paused job waits on: retry the target, skip it, roll back, or abort',
    },
  );
  wf.setHandler(
    cancelDeploymentJob,
    async ({ reason }, meta) => {
      await wf.condition(() => job !== null);
      await lock.runExclusive(async () => {
        rethrowAsFailure(() => checkCancel(job));
        if (cancelling !== null) return;
        const requested = applyCancelRequest(job!, reason, meta.actor, now());
        cancelling = cancelledReason(requested);
        tasksScope.cancel();
        await commit(requested, meta.requestId);
      });
      // Running hooks get SIGTERM, then SIGKILL after the grace period; answer with the end when it comes soon.
      const wait = Math.min(CANCEL_ANSWER_MAX_MS, settings.cancelGraceMs + settings.heartbeatTimeoutMs + 2_000);
      await wf.condition(() => persisted !== null && isFinished(persisted.status), wait);
      return persisted!;
    },
    {
      validator: (_body, _meta) => rethrowAsFailure(() => checkCancel(job)),
      description: 'Cancel the job: running hooks are stopped (SIGTERM, then SIGKILL), the rest never start',
    },
  );

  // Cancelling the workflow itself (its promotion went away, or an operator in the Temporal UI) ends the job cancelled.
  wf.CancellationScope.current().cancelRequested.catch(() => {
    cancelling ??= 'cancelled: the workflow was cancelled';
  });

  publish();
  try {
    await run();
  } catch (err) {
    if (!wf.isCancellation(err) || !job) throw err;
    await wf.CancellationScope.nonCancellable(() => finishCancelled());
  } finally {
    if (slotRequested && !continuing) await wf.CancellationScope.nonCancellable(releaseSlot);
  }
  if (continuing) {
    await wf.condition(wf.allHandlersFinished);
    return wf.continueAsNew<typeof deploymentJob>({ ...input, carried: { job: job!, plan: plan! } });
  }
  await wf.CancellationScope.nonCancellable(() => wf.condition(wf.allHandlersFinished));
  return { id: jobId, status: job!.status, statusReason: job!.statusReason };

  async function run(): Promise<void> {
    if (!job && !(await load())) return;
    if (isFinished(job!.status)) return;
    if (!(await waitForSlot())) return;
    if (waitedInQueue && !(await refreshPlan())) return;
    await deploy();
  }

  /**
   * A job that waited its turn reads its targets again once it has the slot:
   * the job before it moved their stickers (what a rollback returns them to),
   * and targets or agents may have changed meanwhile.
   */
  async function refreshPlan(): Promise<boolean> {
    try {
      const loaded = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Reload the plan after waiting: targets, agents, stickers' }, [
        { tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: job!.labelSelector },
      ]);
      plan = loaded.plan;
    } catch (err) {
      if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) throw err;
      await commit({ status: 'failed', finishedAt: now(), queuePosition: null, statusReason: `the deployment plan could not be reloaded after waiting: ${err.cause?.message ?? err.message}` });
      return false;
    }
    await commit({ progress: jobProgress(targetIds(), tasks()) });
    return true;
  }

  /** Loads the plan and creates the job; false when the plan cannot be loaded (the job ends failed). */
  async function load(): Promise<boolean> {
    let labelSelector = input.labelSelector ?? {};
    let loaded: Awaited<ReturnType<DeploymentActivities['loadDeploymentPlan']>>;
    try {
      loaded = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Load the deployment plan: release, targets, agents, stickers' }, [
        { tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: input.labelSelector ?? null },
      ]);
    } catch (err) {
      if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) throw err;
      const at = now();
      job = {
        ...newJob(input, null, labelSelector, at),
        status: 'failed',
        statusReason: `the deployment plan could not be loaded: ${err.cause?.message ?? err.message}`,
        finishedAt: at,
      };
      // The environment or release may not exist at all, so the row may be refused; the result still says why.
      await save(job).catch((e) => {
        if (!(e instanceof wf.ActivityFailure)) throw e;
      });
      return false;
    }
    plan = loaded.plan;
    labelSelector = effectiveLabelSelector(input, loaded.settings);
    const at = now();
    const created: DeploymentJob = {
      ...newJob(input, loaded.plan, labelSelector, at),
      strategy: effectiveStrategy(input, loaded.settings),
      failurePolicy: effectiveFailurePolicy(input, loaded.settings),
    };
    if (loaded.plan.targets.length === 0) {
      job = {
        ...created,
        status: 'deployed',
        statusReason: noTargetReason(loaded.plan.environment.name, labelSelector),
        startedAt: at,
        finishedAt: at,
      };
    } else {
      job = created;
    }
    await save(job);
    return true;
  }

  /** One job per environment: waits, visibly queued, until the slot is this job's; false when it never will be. */
  async function waitForSlot(): Promise<boolean> {
    slotRequested = true;
    for (;;) {
      if (cancelling !== null) {
        await finishCancelled();
        return false;
      }
      slotFreed = false;
      const slot = await orchestrator.acquireEnvironmentSlot.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Take the deployment slot of ${job!.environmentName}` }, [
        { tenantId, environmentId: job!.environmentId, jobId },
      ]);
      if (slot.acquired) return true;
      waitedInQueue = true;
      const behind = queuedReason(slot.holderJobId, job!.environmentName);
      if (job!.queuePosition !== slot.position || job!.statusReason !== behind) await commit({ queuePosition: slot.position, statusReason: behind });
      if (historyFull(input.maxHistoryEvents)) {
        continuing = true;
        return false;
      }
      await wf.condition(() => slotFreed || cancelling !== null, QUEUE_POLL_MS, { summary: behind });
    }
  }

  async function releaseSlot(): Promise<void> {
    const { nextJobId } = await orchestrator.releaseEnvironmentSlot.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Give back the deployment slot of ${job?.environmentName ?? input.environmentId}` }, [
      { tenantId, environmentId: input.environmentId, jobId },
    ]);
    if (!nextJobId || nextJobId === jobId) return;
    try {
      await wf.getExternalWorkflowHandle(workflowId(tenantId, 'deployment', nextJobId)).signal(environmentSlotFreed);
    } catch {
      // The next job may have ended already; it would find the slot free on its own poll anyway.
    }
  }

  async function deploy(): Promise<void> {
    const batches = planBatches(plan!.targets, job!.strategy);
    await commit({ status: 'running', queuePosition: null, startedAt: job!.startedAt ?? now(), statusReason: input.reason ?? null, batch: { index: 1, count: batches.length } });
    for (let i = 0; i < batches.length; i += 1) {
      if (cancelling !== null) return finishCancelled();
      if (i > 0) await commit({ batch: { index: i + 1, count: batches.length } });
      const settled = await runTasks(
        batches[i].map((target) => ({ target, release: plan!.release })),
        'deploy',
        () => 1,
      );
      if (cancelling !== null) return finishCancelled();
      if (await settleFailures(settled.filter((t) => t.status === 'failed'))) return;
    }
    await commit({ status: 'deployed', finishedAt: now(), statusReason: deployedReason(jobProgress(targetIds(), tasks()), input.reason ?? null) });
  }

  /**
   * Applies the failure policy to a batch's failed tasks in turn; true when
   * that ended the job. A failure within minHealthy is tolerated and stays
   * failed; past it, the job rolls back, or pauses until an operator answers.
   */
  async function settleFailures(failed: DeploymentTask[]): Promise<boolean> {
    for (const first of [...failed].sort((a, b) => (a.targetName < b.targetName ? -1 : a.targetName > b.targetName ? 1 : 0))) {
      let task = first;
      for (;;) {
        if (cancelling !== null || task.status === 'cancelled') {
          await finishCancelled();
          return true;
        }
        if (task.status !== 'failed') break;
        if (toleratesFailures(job!.strategy, targetIds().length, unhealthyCount(jobProgress(targetIds(), tasks())))) break;
        if (job!.failurePolicy === 'rollback') {
          await compensate(`${task.targetName} failed: ${describeTaskError(task.error)}`);
          return true;
        }
        const decision = await pauseOn(task);
        if (!decision) {
          await finishCancelled();
          return true;
        }
        if (decision.action === 'skip') break;
        // The update already recorded the abort: the job is failed and persisted.
        if (decision.action === 'abort') return true;
        if (decision.action === 'rollback') {
          await compensate(job!.statusReason);
          return true;
        }
        const attempt = task.attempt + 1;
        [task] = await runTasks([{ target: await reloadTarget(task.targetId), release: plan!.release }], 'deploy', () => attempt);
      }
    }
    return false;
  }

  /**
   * A retried target as it is configured now: the operator may have fixed its
   * properties or health check before retrying. What it ran before the job (its
   * previous sticker) stays as loaded at the start; a target gone since keeps
   * the loaded form.
   */
  async function reloadTarget(targetId: string): Promise<PlanTarget> {
    const loaded = targetOf(targetId);
    let current: PlanTarget | undefined;
    try {
      const { plan: fresh } = await orchestrator.loadDeploymentPlan.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Reload ${loaded.name} for the retry` }, [
        { tenantId, environmentId: input.environmentId, releaseId: input.releaseId, labelSelector: job!.labelSelector },
      ]);
      current = fresh.targets.find((t) => t.id === targetId);
    } catch (err) {
      // The environment or release went away meanwhile: retry with what was loaded at the start.
      if (!(err instanceof wf.ActivityFailure) || wf.isCancellation(err)) throw err;
    }
    if (!current) return loaded;
    const target: PlanTarget = { ...current, previous: loaded.previous };
    plan = { ...plan!, targets: plan!.targets.map((t) => (t.id === targetId ? target : t)) };
    return target;
  }

  /** Waits, paused on the task, for an operator's answer; null when the job is cancelled instead. */
  async function pauseOn(task: DeploymentTask): Promise<FailureDecisionCommand | null> {
    answer = null;
    await commit({
      status: 'paused',
      pausedOn: { taskId: task.id, targetId: task.targetId, targetName: task.targetName, error: task.error ?? hookFailedError(task.exitCode) },
    });
    await wf.condition(() => answer !== null || cancelling !== null);
    const decided = answer;
    answer = null;
    return decided;
  }

  /**
   * Returns every target this job updated to the release its sticker named
   * before, all at once. A target with no earlier release is left as it is
   * and named in the reason. Only a job that returned at least one target
   * ends rolled_back (compensationOutcome): one whose failures touched
   * nothing ends failed.
   */
  async function compensate(reason: string | null): Promise<void> {
    await commit({ status: 'rolling_back', statusReason: reason, pausedOn: null });
    const { work, leftAsIs } = rollbackWork(tasks(), plan!);
    const done = work.length ? await runTasks(work, 'rollback', () => 1) : [];
    if (cancelling !== null) return finishCancelled();
    await commit({ ...compensationOutcome({ reason, rollbacks: done, leftAsIs }), finishedAt: now() });
  }

  async function finishCancelled(): Promise<void> {
    if (isFinished(job!.status)) return;
    await commit({ status: 'cancelled', statusReason: cancelling ?? 'cancelled', finishedAt: now(), pausedOn: null, queuePosition: null });
  }

  /** Runs tasks in parallel: each created and shown running first, then handed to its agent. */
  async function runTasks(work: TargetWork[], phase: TaskPhase, attemptOf: (target: PlanTarget) => number): Promise<DeploymentTask[]> {
    const started = await Promise.all(work.map(({ target, release }) => startTask(target, release, phase, attemptOf(target))));
    await commit({});
    return Promise.all(started.map((task, i) => (task.status === 'running' ? awaitAgent(task, work[i]) : task)));
  }

  async function startTask(target: PlanTarget, release: PlanRelease, phase: TaskPhase, attempt: number): Promise<DeploymentTask> {
    const at = now();
    const task = newTask({ id: wf.uuid4(), jobId, target, release, phase, attempt, at, logCapBytes: settings.logCapBytes });
    if (!target.agentId) return saveTask({ ...task, status: 'failed', finishedAt: at, error: noAgentError(target.name) });
    if (cancelling !== null) return saveTask({ ...task, status: 'cancelled', finishedAt: at, error: cancelledError(cancelling) });
    return saveTask(task);
  }

  async function awaitAgent(task: DeploymentTask, { target, release }: TargetWork): Promise<DeploymentTask> {
    const agentId = task.agentId!;
    const agentInput: AgentTaskInput = {
      tenantId,
      jobId,
      taskId: task.id,
      phase: task.phase,
      attempt: task.attempt,
      release,
      target: { id: target.id, name: target.name, labels: target.labels, properties: target.properties, healthCheck: target.healthCheck },
      environment: plan!.environment,
      cancelGraceMs: settings.cancelGraceMs,
      logCapBytes: settings.logCapBytes,
    };
    const summary = task.phase === 'deploy' ? `Deploy ${release.name} ${release.version} to ${target.name}` : `Roll back ${target.name} to ${release.name} ${release.version}`;
    let next: DeploymentTask;
    try {
      const result = await tasksScope.run(() =>
        agent.deployTarget.executeWithOptions(
          {
            taskQueue: agentTaskQueue(agentId),
            startToCloseTimeout: settings.taskTimeoutMs,
            heartbeatTimeout: settings.heartbeatTimeoutMs,
            scheduleToStartTimeout: settings.pickupTimeoutMs,
            retry: { maximumAttempts: 1 },
            cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary,
          },
          [agentInput],
        ),
      );
      const base = { ...task, exitCode: result.exitCode, healthChecks: result.healthChecks, finishedAt: now() };
      next = result.outcome === 'succeeded' ? { ...base, status: 'succeeded', error: null } : { ...base, status: 'failed', error: result.error ?? hookFailedError(result.exitCode) };
    } catch (err) {
      next = { ...task, ...failureOf(err, agentId), finishedAt: now() };
    }
    next = { ...next, version: task.version + 1 };
    if (next.status === 'succeeded') {
      // The sticker first: once the task reads succeeded, the target's sticker already names what it runs.
      const sticker = await wf.CancellationScope.nonCancellable(() =>
        orchestrator.recordSticker.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Sticker: ${target.name} runs ${release.name} ${release.version}` }, [
          { tenantId, task: next, release, deployedAt: next.finishedAt! },
        ]),
      );
      // No ledger claim backs the success: it is a failure that touched nothing. Histories recorded before the check
      // carry no `unclaimed` in the activity's result, so they replay down the old path unchanged.
      if (sticker?.unclaimed) next = { ...next, status: 'failed', exitCode: null, error: unclaimedError(agentId) };
    }
    await saveTask(next);
    await commit({});
    return next;
  }

  /** What the agent activity's failure means for the task. */
  function failureOf(err: unknown, agentId: string): Pick<DeploymentTask, 'status' | 'error' | 'stoppedBy'> {
    const cause = err instanceof wf.ActivityFailure && err.cause ? err.cause : err;
    if (cause instanceof wf.TimeoutFailure) return { status: 'failed', error: timeoutError(cause.timeoutType, settings, agentId), stoppedBy: null };
    if (cause instanceof wf.CancelledFailure) {
      // A cancel nobody here asked for (the agent gave the task up) is a failure like any other.
      if (cancelling === null) return { status: 'failed', error: agentError('TASK_ABANDONED', `the agent gave the task up: ${cause.message}`), stoppedBy: null };
      return { status: 'cancelled', error: cancelledError(cancelling), stoppedBy: stoppedByOf(cause.details) };
    }
    if (cause instanceof wf.ApplicationFailure) return { status: 'failed', error: agentError(cause.type, cause.message), stoppedBy: null };
    if (cause instanceof Error) return { status: 'failed', error: agentError(null, cause.message), stoppedBy: null };
    throw err;
  }

  async function saveTask(task: DeploymentTask): Promise<DeploymentTask> {
    taskById.set(task.id, task);
    await wf.CancellationScope.nonCancellable(() =>
      orchestrator.persistDeploymentTask.executeWithOptions(
        { ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist task ${task.targetName} ${task.phase}#${task.attempt} v${task.version}: ${task.status}` },
        [{ tenantId, task }],
      ),
    );
    return task;
  }

  /** The job with `patch` applied, its progress recounted and its version bumped, persisted and shown. */
  function commit(patch: Partial<DeploymentJob>, requestId?: string | null): Promise<DeploymentJob> {
    return save({ ...job!, ...patch, progress: jobProgress(targetIds(), tasks()), version: job!.version + 1, updatedAt: now() }, requestId);
  }

  async function save(next: DeploymentJob, requestId?: string | null): Promise<DeploymentJob> {
    job = next;
    publish();
    await wf.CancellationScope.nonCancellable(() =>
      orchestrator.persistDeploymentJob.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist job v${next.version}: ${next.status}` }, [
        { tenantId, job: next, requestId: requestId ?? null },
      ]),
    );
    if (!persisted || persisted.version < next.version) persisted = next;
    return next;
  }

  function publish(): void {
    const searchAttributes: SearchAttributeUpdatePair[] = [
      { key: SA.tenant, value: tenantId },
      { key: SA.kind, value: 'deployment' },
      { key: SA.resourceId, value: jobId },
      { key: SA.state, value: job?.status ?? 'queued' },
    ];
    if (job) searchAttributes.push({ key: SA.environment, value: job.environmentName }, { key: SA.release, value: job.releaseName });
    showInUi(searchAttributes, job ? jobDetails(job, tasks()) : `Deployment job ${jobId}: loading its plan`);
  }
}

/** The agent names the signal that stopped a cancelled hook in its cancellation's first detail. */
function stoppedByOf(details: readonly unknown[] | undefined): DeploymentTask['stoppedBy'] {
  const first = details?.[0] as { stoppedBy?: unknown } | undefined;
  return first?.stoppedBy === 'SIGTERM' || first?.stoppedBy === 'SIGKILL' ? first.stoppedBy : null;
}

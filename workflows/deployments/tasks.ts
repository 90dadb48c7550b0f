import * as wf from '@temporalio/workflow';
import { agentTaskQueue, type AgentTaskInput, type DeploymentTask, type PlanTarget, type TaskPhase } from '../../domain/deployments/model';
import type { AgentActivities } from '../../domain/deployments/ports';
import { newTask } from '../../domain/deployments/records';
import type { TargetWork } from '../../domain/deployments/rollback';
import { agentError, cancelledError, hookFailedError, noAgentError, timeoutError, unclaimedError } from '../../domain/deployments/task-errors';
import { releaseLabel } from '../../domain/workflow-titles';
import { ENTITY_ACTIVITY_OPTIONS } from '../entity';
import { orchestrator, type JobRun } from './job-run';

/**
 * A job's tasks: one per target and attempt, each persisted running, then
 * handed to the agent that owns the target (an activity on the agent's own
 * queue, in the run's cancellation scope) and persisted again with what the
 * agent answered. A success records the target's sticker first.
 */

const agent = wf.proxyActivities<AgentActivities>({ startToCloseTimeout: '30 minutes', retry: { maximumAttempts: 1 } });

/** Runs tasks in parallel: each created and shown running first, then handed to its agent. */
export async function runTasks(run: JobRun, work: TargetWork[], phase: TaskPhase, attemptOf: (target: PlanTarget) => number): Promise<DeploymentTask[]> {
  const started = await Promise.all(work.map(({ target, release }) => startTask(run, { target, release }, phase, attemptOf(target))));
  await run.commit({});
  return Promise.all(started.map((task, i) => (task.status === 'running' ? awaitAgent(run, task, work[i]) : task)));
}

async function startTask(run: JobRun, { target, release }: TargetWork, phase: TaskPhase, attempt: number): Promise<DeploymentTask> {
  const at = run.now();
  const task = newTask({ id: wf.uuid4(), jobId: run.jobId, target, release, phase, attempt, at, logCapBytes: run.settings.logCapBytes });
  if (!target.agentId) return run.saveTask({ ...task, status: 'failed', finishedAt: at, error: noAgentError(target.name) });
  if (run.cancelling !== null) return run.saveTask({ ...task, status: 'cancelled', finishedAt: at, error: cancelledError(run.cancelling) });
  return run.saveTask(task);
}

async function awaitAgent(run: JobRun, task: DeploymentTask, { target, release }: TargetWork): Promise<DeploymentTask> {
  const { tenantId, jobId, settings } = run;
  const agentId = task.agentId!;
  const agentInput: AgentTaskInput = {
    tenantId,
    jobId,
    taskId: task.id,
    phase: task.phase,
    attempt: task.attempt,
    release,
    target: { id: target.id, name: target.name, labels: target.labels, properties: target.properties, healthCheck: target.healthCheck },
    environment: run.plan!.environment,
    cancelGraceMs: settings.cancelGraceMs,
    logCapBytes: settings.logCapBytes,
  };
  const summary = task.phase === 'deploy' ? `Deploy ${releaseLabel(release.name, release.version)} to ${target.name}` : `Roll back ${target.name} to ${releaseLabel(release.name, release.version)}`;
  let next: DeploymentTask;
  try {
    const result = await run.tasksScope.run(() =>
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
    const base = { ...task, exitCode: result.exitCode, healthChecks: result.healthChecks, finishedAt: run.now() };
    next = result.outcome === 'succeeded' ? { ...base, status: 'succeeded', error: null } : { ...base, status: 'failed', error: result.error ?? hookFailedError(result.exitCode) };
  } catch (err) {
    next = { ...task, ...failureOf(run, err, agentId), finishedAt: run.now() };
  }
  next = { ...next, version: task.version + 1 };
  if (next.status === 'succeeded') {
    // The sticker first: once the task reads succeeded, the target's sticker already names what it runs.
    const recorded = next;
    const sticker = await wf.CancellationScope.nonCancellable(() =>
      orchestrator.recordSticker.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Sticker: ${target.name} runs ${releaseLabel(release.name, release.version)}` }, [
        { tenantId, task: recorded, release, deployedAt: recorded.finishedAt! },
      ]),
    );
    // No ledger claim backs the success: it is a failure that touched nothing. Histories recorded before the check
    // carry no `unclaimed` in the activity's result, so they replay down the old path unchanged.
    if (sticker?.unclaimed) next = { ...next, status: 'failed', exitCode: null, error: unclaimedError(agentId) };
  }
  await run.saveTask(next);
  await run.commit({});
  return next;
}

/** What the agent activity's failure means for the task. */
function failureOf(run: JobRun, err: unknown, agentId: string): Pick<DeploymentTask, 'status' | 'error' | 'stoppedBy'> {
  const cause = err instanceof wf.ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof wf.TimeoutFailure) return { status: 'failed', error: timeoutError(cause.timeoutType, run.settings, agentId), stoppedBy: null };
  if (cause instanceof wf.CancelledFailure) {
    // A cancel nobody here asked for (the agent gave the task up) is a failure like any other.
    if (run.cancelling === null) return { status: 'failed', error: agentError('TASK_ABANDONED', `the agent gave the task up: ${cause.message}`), stoppedBy: null };
    return { status: 'cancelled', error: cancelledError(run.cancelling), stoppedBy: stoppedByOf(cause.details) };
  }
  if (cause instanceof wf.ApplicationFailure) return { status: 'failed', error: agentError(cause.type, cause.message), stoppedBy: null };
  if (cause instanceof Error) return { status: 'failed', error: agentError(null, cause.message), stoppedBy: null };
  throw err;
}

/** The agent names the signal that stopped a cancelled hook in its cancellation's first detail. */
function stoppedByOf(details: readonly unknown[] | undefined): DeploymentTask['stoppedBy'] {
  const first = details?.[0] as { stoppedBy?: unknown } | undefined;
  return first?.stoppedBy === 'SIGTERM' || first?.stoppedBy === 'SIGKILL' ? first.stoppedBy : null;
}

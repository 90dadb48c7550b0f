import type { OperatorActionInput } from './job-requests';
import type { Actor } from '../actor';
import { DomainError } from '../errors';
import { FINISHED_JOB_STATUSES, type DeploymentJob, type JobStatus, type OperatorAction, type OperatorDecision } from './model';

/**
 * The rules for what operators may do to a running deployment job: answer the
 * failure a paused job waits on (retry, skip, rollback, abort) or cancel it.
 * The update validators and handlers of deploymentJob both call these, so a
 * refused command never enters history and two operators racing on one
 * failure cannot both act on it.
 */

export const OPERATOR_ACTIONS: readonly OperatorAction[] = ['retry', 'skip', 'rollback', 'abort'];

/** An operator's answer to the failure a paused job waits on: the request body (job-requests.ts) and its action. */
export type FailureDecisionCommand = OperatorActionInput & { action: OperatorAction };

export const isFinished = (status: JobStatus) => FINISHED_JOB_STATUSES.includes(status);

/** How a decision names who made it. */
export function actorLabel(actor: Pick<Actor, 'userId' | 'email'>): string {
  return actor.email ?? actor.userId;
}

const cancelRequested = (job: DeploymentJob) => job.decisions.some((d) => d.action === 'cancel');

/** Throws the refusal for a decision on `job` (null: not loaded yet), or returns when it may be taken. */
export function checkFailureDecision(job: DeploymentJob | null, command: FailureDecisionCommand): void {
  if (!OPERATOR_ACTIONS.includes(command.action)) {
    throw new DomainError('invalid_input', 'INVALID_ACTION', `action must be one of ${OPERATOR_ACTIONS.join(', ')}`, { action: command.action });
  }
  if (!job) throw new DomainError('invalid_state', 'JOB_NOT_PAUSED', 'The job has not started yet; it waits on no failure');
  const earlier = job.decisions.find((d) => d.taskId === command.taskId && d.action !== 'cancel');
  if (earlier) {
    throw new DomainError('invalid_state', 'FAILURE_ALREADY_DECIDED', `The failure of task ${command.taskId} was already answered: ${earlier.action} by ${earlier.by}`, {
      currentStatus: job.status,
      decision: earlier,
    });
  }
  if (isFinished(job.status)) {
    throw new DomainError('invalid_state', 'JOB_NOT_PAUSED', `The job is ${job.status} and waits on no failure`, { currentStatus: job.status });
  }
  if (cancelRequested(job)) {
    throw new DomainError('invalid_state', 'JOB_NOT_PAUSED', 'The job is being cancelled and waits on no failure', { currentStatus: job.status });
  }
  if (job.status !== 'paused' || !job.pausedOn) {
    throw new DomainError('invalid_state', 'JOB_NOT_PAUSED', `The job is ${job.status}, not paused on a failure`, { currentStatus: job.status });
  }
  if (job.pausedOn.taskId !== command.taskId) {
    throw new DomainError('invalid_state', 'JOB_NOT_PAUSED', `The job is paused on task ${job.pausedOn.taskId} (${job.pausedOn.targetName}), not on task ${command.taskId}`, {
      currentStatus: job.status,
      pausedOn: job.pausedOn,
    });
  }
}

/** Throws the refusal for a cancel, or returns when it may go ahead (a job not loaded yet can be cancelled). */
export function checkCancel(job: DeploymentJob | null): void {
  if (job && isFinished(job.status)) {
    throw new DomainError('invalid_state', 'JOB_FINISHED', `The job is ${job.status}; there is nothing to cancel`, { currentStatus: job.status, finishedAt: job.finishedAt });
  }
}

const withReason = (text: string, reason: string | null | undefined) => (reason ? `${text}: ${reason}` : text);

/**
 * The job once an operator's answer is recorded: no longer paused, and already
 * showing where it goes next — running again for retry and skip, rolling back,
 * or failed for abort. The workflow then does the work the answer asks for.
 */
export function applyFailureDecision(job: DeploymentJob, command: FailureDecisionCommand, actor: Pick<Actor, 'userId' | 'email'>, at: string): DeploymentJob {
  const by = actorLabel(actor);
  const decision: OperatorDecision = {
    action: command.action,
    taskId: command.taskId,
    targetId: job.pausedOn?.targetId ?? null,
    by,
    reason: command.reason ?? null,
    at,
  };
  const next: DeploymentJob = { ...job, pausedOn: null, decisions: [...job.decisions, decision] };
  const target = job.pausedOn?.targetName ?? command.taskId;
  switch (command.action) {
    case 'retry':
      return { ...next, status: 'running', statusReason: withReason(`${by} retried ${target}`, command.reason) };
    case 'skip':
      return { ...next, status: 'running', statusReason: withReason(`${by} skipped ${target}`, command.reason) };
    case 'rollback':
      return { ...next, status: 'rolling_back', statusReason: withReason(`rollback chosen by ${by} after ${target} failed`, command.reason) };
    case 'abort':
      return { ...next, status: 'failed', statusReason: withReason(`aborted by ${by}`, command.reason), finishedAt: at };
  }
}

/** The job once a cancel is recorded as requested; the workflow stops its tasks and then marks it cancelled. */
export function applyCancelRequest(job: DeploymentJob, reason: string | null | undefined, actor: Pick<Actor, 'userId' | 'email'>, at: string): DeploymentJob {
  const by = actorLabel(actor);
  const decision: OperatorDecision = { action: 'cancel', taskId: null, targetId: null, by, reason: reason ?? null, at };
  return { ...job, decisions: [...job.decisions, decision], statusReason: withReason(`cancel requested by ${by}`, reason) };
}

/** Why a cancelled job ended, from the cancel recorded on it. */
export function cancelledReason(job: DeploymentJob): string {
  const cancel = [...job.decisions].reverse().find((d) => d.action === 'cancel');
  return cancel ? withReason(`cancelled by ${cancel.by}`, cancel.reason) : 'cancelled';
}

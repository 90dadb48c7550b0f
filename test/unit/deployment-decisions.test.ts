import { applyCancelRequest, applyFailureDecision, cancelledReason, checkCancel, checkFailureDecision } from '../../domain/deployments/decisions';
import type { DeploymentJob } from '../../domain/deployments/model';
import { jobDetails } from '../../domain/deployments/progress';
import { DomainError } from '../../domain/errors';

const at = '2026-05-01T10:00:00.000Z';
const alice = { userId: 'u-alice', email: 'alice@example.com' };
const bob = { userId: 'u-bob' };

const job = (over: Partial<DeploymentJob> = {}): DeploymentJob => ({
  id: 'job-1',
  version: 4,
  kind: 'promotion',
  status: 'paused',
  statusReason: null,
  environmentId: 'env-1',
  environmentName: 'production',
  releaseId: 'rel-1',
  releaseName: 'web-app',
  releaseVersion: '2.0.0',
  promotionId: 'p-1',
  rollbackId: null,
  strategy: { type: 'rolling', batchSize: 2 },
  failurePolicy: 'pause',
  labelSelector: {},
  requestedBy: 'u-alice',
  queuePosition: null,
  pausedOn: { taskId: 'task-7', targetId: 't-3', targetName: 'web-3', error: { code: 'HEALTH_CHECK_FAILED', message: 'GET /health answered 503' } },
  progress: { total: 8, succeeded: 2, failed: 1, skipped: 0, cancelled: 0, running: 0, pending: 5 },
  batch: { index: 2, count: 4 },
  decisions: [],
  createdAt: at,
  startedAt: at,
  finishedAt: null,
  updatedAt: at,
  ...over,
});

function refusal(fn: () => void): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('answering a paused job', () => {
  it('accepts any of the four answers for the failure it is paused on', () => {
    for (const action of ['retry', 'skip', 'rollback', 'abort'] as const) {
      expect(() => checkFailureDecision(job(), { action, taskId: 'task-7' })).not.toThrow();
    }
  });

  it('refuses a job that is not paused, or paused on another failure (409)', () => {
    const running = refusal(() => checkFailureDecision(job({ status: 'running', pausedOn: null }), { action: 'retry', taskId: 'task-7' }));
    expect(running).toMatchObject({ kind: 'invalid_state', code: 'JOB_NOT_PAUSED', details: { currentStatus: 'running' } });
    const other = refusal(() => checkFailureDecision(job(), { action: 'skip', taskId: 'task-1' }));
    expect(other).toMatchObject({ kind: 'invalid_state', code: 'JOB_NOT_PAUSED', details: { pausedOn: { taskId: 'task-7' } } });
    expect(refusal(() => checkFailureDecision(null, { action: 'skip', taskId: 'task-7' })).code).toBe('JOB_NOT_PAUSED');
  });

  it('refuses a second answer to the same failure, naming the first', () => {
    const answered = applyFailureDecision(job(), { action: 'retry', taskId: 'task-7', reason: 'fixed' }, alice, at);
    const second = refusal(() => checkFailureDecision(answered, { action: 'skip', taskId: 'task-7' }));
    expect(second).toMatchObject({ kind: 'invalid_state', code: 'FAILURE_ALREADY_DECIDED', details: { decision: { action: 'retry', by: 'alice@example.com' } } });
  });

  it('refuses an answer while a cancel is under way, and an unknown action', () => {
    const cancelling = applyCancelRequest(job(), 'stop', alice, at);
    expect(refusal(() => checkFailureDecision(cancelling, { action: 'retry', taskId: 'task-7' })).code).toBe('JOB_NOT_PAUSED');
    expect(refusal(() => checkFailureDecision(job(), { action: 'reboot' as never, taskId: 'task-7' }))).toMatchObject({ kind: 'invalid_input', code: 'INVALID_ACTION' });
  });

  it('records who answered, why, and where the job goes next', () => {
    const retried = applyFailureDecision(job(), { action: 'retry', taskId: 'task-7', reason: 'fixed the config' }, alice, at);
    expect(retried).toMatchObject({ status: 'running', pausedOn: null });
    expect(retried.decisions).toEqual([{ action: 'retry', taskId: 'task-7', targetId: 't-3', by: 'alice@example.com', reason: 'fixed the config', at }]);
    expect(applyFailureDecision(job(), { action: 'skip', taskId: 'task-7' }, bob, at).decisions[0]).toMatchObject({ by: 'u-bob', reason: null });
    expect(applyFailureDecision(job(), { action: 'rollback', taskId: 'task-7' }, alice, at)).toMatchObject({ status: 'rolling_back' });
    expect(applyFailureDecision(job(), { action: 'abort', taskId: 'task-7', reason: 'bad build' }, alice, at)).toMatchObject({
      status: 'failed',
      statusReason: 'aborted by alice@example.com: bad build',
      finishedAt: at,
    });
  });
});

describe('cancelling', () => {
  it('is allowed until the job has finished, and before it is loaded', () => {
    for (const status of ['queued', 'running', 'paused', 'rolling_back'] as const) expect(() => checkCancel(job({ status }))).not.toThrow();
    expect(() => checkCancel(null)).not.toThrow();
    for (const status of ['deployed', 'failed', 'rolled_back', 'cancelled'] as const) {
      expect(refusal(() => checkCancel(job({ status })))).toMatchObject({ kind: 'invalid_state', code: 'JOB_FINISHED', details: { currentStatus: status } });
    }
  });

  it('records the request and says who cancelled and why', () => {
    const requested = applyCancelRequest(job({ status: 'running', pausedOn: null }), 'wrong window', alice, at);
    expect(requested.decisions).toEqual([{ action: 'cancel', taskId: null, targetId: null, by: 'alice@example.com', reason: 'wrong window', at }]);
    expect(cancelledReason(requested)).toBe('cancelled by alice@example.com: wrong window');
  });
});

describe('Temporal UI details', () => {
  it('show release, environment, status, strategy, batch and progress, then what the job waits on', () => {
    const text = jobDetails(job({ status: 'running', pausedOn: null, progress: { total: 8, succeeded: 2, failed: 1, skipped: 0, cancelled: 0, running: 2, pending: 3 } }));
    expect(text.split('\n\n')[0]).toBe('**web-app 2.0.0 → production** · **running** · rolling, batches of 2, batch 2/4 · 3/8 targets done, 1 failed, 2 running');
    expect(jobDetails(job())).toContain('Waiting for: an operator to retry, skip, rollback or abort (paused on web-3: HEALTH_CHECK_FAILED: GET /health answered 503)');
    expect(jobDetails(job({ status: 'queued', queuePosition: 2, batch: null, pausedOn: null, statusReason: 'queued behind job job-0' }))).toMatch(/\*\*queued\*\*\s*\nWaiting for: the environment's deployment slot \(position 2\)[\s\S]*queued behind job job-0/);
  });
});

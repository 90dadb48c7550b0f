import type { DeploymentTask } from '../../domain/deployments/model';
import { jobProgress, progressText, rollbackText } from '../../domain/deployments/progress';
import {
  DEFAULT_STRATEGY,
  effectiveFailurePolicy,
  effectiveStrategy,
  healthyThreshold,
  minHealthyError,
  parseMinHealthy,
  planBatches,
  rollingBatchSize,
  toleratesFailures,
} from '../../domain/deployments/strategy';
import { timeoutError } from '../../domain/deployments/task-errors';

const targets = ['web-3', 'web-1', 'web-5', 'web-2', 'web-4'].map((name, i) => ({ id: `t${i}`, name }));
const names = (batches: Array<Array<{ name: string }>>) => batches.map((b) => b.map((t) => t.name));

describe('batches', () => {
  it('all-at-once runs every target in one batch, in name order', () => {
    expect(names(planBatches(targets, { type: 'all-at-once' }))).toEqual([['web-1', 'web-2', 'web-3', 'web-4', 'web-5']]);
  });

  it('rolling splits by batchSize, else maxUnavailable, else one at a time', () => {
    expect(names(planBatches(targets, { type: 'rolling', batchSize: 2 }))).toEqual([['web-1', 'web-2'], ['web-3', 'web-4'], ['web-5']]);
    expect(names(planBatches(targets, { type: 'rolling', maxUnavailable: 3 }))).toEqual([['web-1', 'web-2', 'web-3'], ['web-4', 'web-5']]);
    expect(planBatches(targets, { type: 'rolling' })).toHaveLength(5);
  });

  it('never takes more targets down at once than maxUnavailable allows', () => {
    expect(rollingBatchSize({ type: 'rolling', batchSize: 4, maxUnavailable: 2 })).toBe(2);
    expect(rollingBatchSize({ type: 'rolling', batchSize: 0 })).toBe(1);
  });

  it('orders names by code point, so the order never depends on a locale', () => {
    const mixed = [{ id: 'a', name: 'b' }, { id: 'b', name: 'B' }, { id: 'c', name: 'a' }];
    expect(names(planBatches(mixed, { type: 'all-at-once' }))).toEqual([['B', 'a', 'b']]);
  });

  it('plans nothing for no targets', () => {
    expect(planBatches([], { type: 'rolling', batchSize: 2 })).toEqual([]);
  });
});

describe('minHealthy', () => {
  it('reads a count or a percentage, and refuses anything else', () => {
    expect(parseMinHealthy('3')).toEqual({ kind: 'count', count: 3 });
    expect(parseMinHealthy('75%')).toEqual({ kind: 'percent', percent: 75 });
    expect(parseMinHealthy('150%')).toBeNull();
    expect(parseMinHealthy('three')).toBeNull();
    expect(minHealthyError('-1')).toMatch(/count of targets/);
    expect(minHealthyError('50%')).toBeNull();
  });

  it('rounds a percentage up and caps a count at the number of targets', () => {
    expect(healthyThreshold('75%', 5)).toBe(4);
    expect(healthyThreshold('70%', 10)).toBe(7);
    expect(healthyThreshold('3', 8)).toBe(3);
    expect(healthyThreshold('12', 8)).toBe(8);
  });

  it('means every target when absent: any failure breaches it', () => {
    expect(healthyThreshold(null, 4)).toBe(4);
    expect(toleratesFailures({ type: 'all-at-once' }, 4, 1)).toBe(false);
    expect(toleratesFailures({ type: 'all-at-once' }, 4, 0)).toBe(true);
  });

  it('tolerates failures while the targets not failed still reach it', () => {
    const strategy = { type: 'rolling' as const, batchSize: 2, minHealthy: '75%' };
    expect(toleratesFailures(strategy, 8, 2)).toBe(true);
    expect(toleratesFailures(strategy, 8, 3)).toBe(false);
    expect(toleratesFailures({ type: 'all-at-once', minHealthy: '2' }, 4, 2)).toBe(true);
    expect(toleratesFailures({ type: 'all-at-once', minHealthy: '2' }, 4, 3)).toBe(false);
  });
});

describe('defaults', () => {
  it('takes the request over the environment over the defaults', () => {
    const env = { strategy: { type: 'rolling' as const, batchSize: 2 }, failurePolicy: 'pause' as const };
    expect(effectiveStrategy({ strategy: { type: 'all-at-once' } }, env)).toEqual({ type: 'all-at-once' });
    expect(effectiveStrategy({}, env)).toEqual(env.strategy);
    expect(effectiveStrategy({ strategy: null }, {})).toEqual(DEFAULT_STRATEGY);
    expect(effectiveFailurePolicy({}, env)).toBe('pause');
    expect(effectiveFailurePolicy({ failurePolicy: null }, {})).toBe('rollback');
  });
});

describe('progress', () => {
  const task = (targetId: string, status: DeploymentTask['status'], attempt = 1, phase: DeploymentTask['phase'] = 'deploy') =>
    ({ id: `${targetId}-${phase}-${attempt}`, targetId, status, attempt, phase }) as DeploymentTask;

  it('counts each target once, by its newest deploy task', () => {
    const progress = jobProgress(['a', 'b', 'c', 'd'], [task('a', 'failed'), task('a', 'succeeded', 2), task('b', 'failed'), task('c', 'running'), task('a', 'failed', 1, 'rollback')]);
    expect(progress).toEqual({ total: 4, succeeded: 1, failed: 1, skipped: 0, cancelled: 0, running: 1, pending: 1 });
    expect(progressText(progress)).toBe('2/4 targets done, 1 failed, 1 running');
  });

  it('counts a cancelled task as cancelled, neither failed nor pending; a cancelled rollback is no failed one', () => {
    const progress = jobProgress(['a', 'b', 'c'], [task('a', 'succeeded'), task('b', 'cancelled'), task('a', 'cancelled', 1, 'rollback')]);
    expect(progress).toEqual({ total: 3, succeeded: 1, failed: 0, skipped: 0, cancelled: 1, running: 0, pending: 1 });
    expect(progressText(progress)).toBe('2/3 targets done, 1 cancelled');
    expect(rollbackText([task('a', 'cancelled', 1, 'rollback'), task('b', 'succeeded', 1, 'rollback')])).toBe('rolled back 1/2 targets, 1 cancelled');
  });
});

describe('agent failures', () => {
  const settings = { heartbeatTimeoutMs: 10_000, pickupTimeoutMs: 60_000, taskTimeoutMs: 1_800_000, cancelGraceMs: 10_000, logCapBytes: 1024 };

  it('names a stopped heartbeat a dead agent, an unclaimed task an offline one', () => {
    expect(timeoutError('HEARTBEAT', settings, 'ag-1')).toEqual({ code: 'AGENT_LOST', message: 'agent ag-1 stopped heartbeating for 10s; presumed dead' });
    expect(timeoutError('SCHEDULE_TO_START', settings, 'ag-1').code).toBe('AGENT_OFFLINE');
    expect(timeoutError('START_TO_CLOSE', settings, 'ag-1').code).toBe('TASK_TIMEOUT');
  });
});

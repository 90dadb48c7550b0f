import type { DeploymentJobInput, DeploymentTask, JobPlan, PlanRelease, PlanTarget, StickerRef } from '../../domain/deployments/model';
import { deployedReason, noTargetReason, queuedReason } from '../../domain/deployments/progress';
import { newJob, newTask } from '../../domain/deployments/records';
import { rollbackWork } from '../../domain/deployments/rollback';

/** The pure parts of a deployment job's run: its first records, its status reasons, and what a rollback must undo. */

const AT = '2026-01-02T03:04:05.000Z';
const release = (id: string, version: string): PlanRelease => ({ id, name: 'web-app', version, components: [] });
const sticker = (releaseId: string): StickerRef => ({ releaseId, releaseName: 'web-app', version: '1.0.0', digests: {}, jobId: 'job-0', deployedAt: AT });
const target = (id: string, name: string, previous: StickerRef | null = null, agentId: string | null = 'agent-1'): PlanTarget => ({
  id,
  name,
  agentId,
  labels: {},
  properties: {},
  healthCheck: null,
  previous,
});
const input: DeploymentJobInput = {
  tenantId: 't1',
  jobId: 'job-1',
  kind: 'promotion',
  environmentId: 'env-1',
  releaseId: 'rel-2',
  promotionId: 'promo-1',
  requestedBy: 'user-1',
  reason: 'ship it',
  settings: { heartbeatTimeoutMs: 1, pickupTimeoutMs: 1, taskTimeoutMs: 1, cancelGraceMs: 1, logCapBytes: 1024 },
};
const plan = (targets: PlanTarget[]): JobPlan => ({
  environment: { id: 'env-1', name: 'production' },
  release: release('rel-2', '2.0.0'),
  targets,
  previousReleases: { 'rel-1': release('rel-1', '1.0.0') },
});
const task = (t: PlanTarget, status: DeploymentTask['status'], error: DeploymentTask['error'] = null, phase: DeploymentTask['phase'] = 'deploy'): DeploymentTask => ({
  ...newTask({ id: `task-${t.id}-${status}`, jobId: 'job-1', target: t, release: release('rel-2', '2.0.0'), phase, attempt: 1, at: AT, logCapBytes: 1024 }),
  status,
  error,
});

describe('a new job', () => {
  it('is queued at version 1 with the plan’s names and one pending target per planned target', () => {
    const job = newJob(input, plan([target('a', 'web-1'), target('b', 'web-2')]), { tier: 'web' }, AT);
    expect(job).toMatchObject({
      id: 'job-1',
      version: 1,
      status: 'queued',
      statusReason: 'ship it',
      environmentName: 'production',
      releaseName: 'web-app',
      releaseVersion: '2.0.0',
      promotionId: 'promo-1',
      rollbackId: null,
      strategy: { type: 'all-at-once' },
      failurePolicy: 'rollback',
      labelSelector: { tier: 'web' },
      progress: { total: 2, pending: 2, succeeded: 0 },
      createdAt: AT,
      updatedAt: AT,
      startedAt: null,
    });
  });

  it('names its environment and release by id when the plan could not be loaded', () => {
    const job = newJob({ ...input, reason: null, strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'pause' }, null, {}, AT);
    expect(job).toMatchObject({ environmentName: 'env-1', releaseName: 'rel-2', releaseVersion: '', statusReason: null, strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'pause' });
    expect(job.progress.total).toBe(0);
  });
});

describe('a new task', () => {
  it('runs from its start, on the target’s agent, with an empty log capped as the settings say', () => {
    const t = newTask({ id: 'task-1', jobId: 'job-1', target: target('a', 'web-1'), release: release('rel-2', '2.0.0'), phase: 'rollback', attempt: 2, at: AT, logCapBytes: 4096 });
    expect(t).toEqual({
      id: 'task-1',
      version: 1,
      jobId: 'job-1',
      targetId: 'a',
      targetName: 'web-1',
      agentId: 'agent-1',
      phase: 'rollback',
      attempt: 2,
      status: 'running',
      releaseId: 'rel-2',
      releaseName: 'web-app',
      releaseVersion: '2.0.0',
      startedAt: AT,
      finishedAt: null,
      exitCode: null,
      healthChecks: 0,
      error: null,
      stoppedBy: null,
      log: { size: 0, capped: false, capBytes: 4096 },
    });
  });
});

describe('status reasons', () => {
  const progress = { total: 5, succeeded: 3, failed: 1, skipped: 1, cancelled: 0, running: 0, pending: 0 };
  it('a deployed job keeps the request’s reason when every target ended healthy, else counts the short ones', () => {
    expect(deployedReason({ ...progress, succeeded: 5, failed: 0, skipped: 0 }, 'ship it')).toBe('ship it');
    expect(deployedReason({ ...progress, succeeded: 5, failed: 0, skipped: 0 }, null)).toBeNull();
    expect(deployedReason(progress, 'ship it')).toBe('deployed to 3 of 5 targets (1 failed, 1 skipped)');
    expect(deployedReason({ ...progress, succeeded: 4, skipped: 0 }, null)).toBe('deployed to 4 of 5 targets (1 failed)');
  });

  it('a job with no matching target names the environment and the selector', () => {
    expect(noTargetReason('production', {})).toBe('no target in production; nothing to deploy');
    expect(noTargetReason('production', { tier: 'web', zone: 'a' })).toBe('no target in production matches tier=web,zone=a; nothing to deploy');
  });

  it('a queued job names the job it waits behind, else the environment', () => {
    expect(queuedReason('job-0', 'production')).toBe('queued behind job job-0');
    expect(queuedReason(null, 'production')).toBe('queued for production');
  });
});

describe('rollback work', () => {
  it('returns every target the job may have changed to its earlier release, by name, and names the ones with none', () => {
    const b = target('b', 'web-b', sticker('rel-1'));
    const a = target('a', 'web-a', sticker('rel-1'));
    const c = target('c', 'web-c');
    const untouched = target('d', 'web-d', sticker('rel-1'));
    const pending = target('e', 'web-e', sticker('rel-1'));
    const tasks = [
      task(b, 'succeeded'),
      task(a, 'failed', { code: 'HOOK_FAILED', message: 'exit 1' }),
      task(c, 'succeeded'),
      task(untouched, 'failed', { code: 'NO_AGENT', message: 'no agent' }),
      task(pending, 'running'),
    ];
    const { work, leftAsIs } = rollbackWork(tasks, plan([a, b, c, untouched, pending]));
    expect(work.map((w) => [w.target.name, w.release.version])).toEqual([
      ['web-a', '1.0.0'],
      ['web-b', '1.0.0'],
    ]);
    expect(leftAsIs).toEqual(['web-c']);
  });

  it('judges a retried target by its newest deploy attempt and ignores rollback tasks', () => {
    const a = target('a', 'web-a', sticker('rel-1'));
    const tasks = [task(a, 'succeeded'), { ...task(a, 'failed', { code: 'NO_AGENT', message: 'no agent' }), id: 'retry' }, task(a, 'succeeded', null, 'rollback')];
    expect(rollbackWork(tasks, plan([a]))).toEqual({ work: [], leftAsIs: [] });
  });
});

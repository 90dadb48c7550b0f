import { randomUUID } from 'node:crypto';
import { CancelledFailure, Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { CommandMeta } from '../../domain/actor';
import {
  agentTaskQueue,
  type AgentTaskInput,
  type AgentTaskResult,
  type DeploymentJob,
  type DeploymentJobInput,
  type DeploymentSettings,
  type DeploymentTask,
  type EnvironmentDeploymentSettings,
  type JobPlan,
  type PlanRelease,
  type PlanTarget,
} from '../../domain/deployments/model';
import type { DeploymentActivities } from '../../domain/deployments/ports';
import { workflowId } from '../../domain/workflow-ids';
import type { deploymentJob } from '../../workflows/deployments/deployment-job';
import { cancelDeploymentJob, decideDeploymentFailure, DEPLOYMENT_JOB_WORKFLOW_TYPE, getDeploymentJob } from '../../workflows/deployments/messages';
import { testEnv } from '../support/env';
import { eventually, until } from '../support/eventually';
import { timersIn } from '../support/history';

/**
 * deploymentJob driven directly through Temporal: the orchestrator's
 * activities are an in-memory store and the agent is a worker on its own
 * `agent-<id>` queue whose deployTarget does what each test tells it, so the
 * workflow's rules (batches, minHealthy, failure policies, operators, cancel,
 * one job per environment) are checked without processes or Postgres.
 */
let env: TestWorkflowEnvironment;
let orchestratorWorker: Worker;
let agentWorker: Worker;
const running: Array<Promise<void>> = [];
const taskQueue = `wf-deploy-${randomUUID()}`;
const tenantId = `wf-${randomUUID().slice(0, 8)}`;
const agentId = `ag-${randomUUID().slice(0, 8)}`;
/** An agent with no worker: its tasks are never picked up. */
const offlineAgentId = `ag-off-${randomUUID().slice(0, 8)}`;
const alice: CommandMeta = { actor: { userId: 'u-alice', email: 'alice@example.com', permissions: ['deployment:operate'] }, requestId: 'req-1' };
const bob: CommandMeta = { actor: { userId: 'u-bob', email: 'bob@example.com', permissions: ['deployment:operate'] } };
const settings: DeploymentSettings = { heartbeatTimeoutMs: 1_000, pickupTimeoutMs: 1_500, taskTimeoutMs: 20_000, cancelGraceMs: 500, logCapBytes: 4096 };

// The in-memory read model the orchestrator's activities keep.
const plans = new Map<string, { plan: JobPlan; settings: EnvironmentDeploymentSettings }>();
const jobWrites = new Map<string, DeploymentJob[]>();
const taskRows = new Map<string, DeploymentTask>();
const stickers: Array<{ targetId: string; releaseId: string; version: string; jobId: string; taskId: string }> = [];
const slots = new Map<string, { holder: string | null; waiting: string[] }>();

type Behaviour = (input: AgentTaskInput) => Promise<AgentTaskResult>;
const behaviours = new Map<string, Behaviour>();
const agentCalls: Array<{ jobId: string; targetName: string; phase: string; attempt: number; version: string; start: number; end?: number }> = [];

const orchestratorActivities: DeploymentActivities = {
  async loadDeploymentPlan({ environmentId, releaseId }) {
    const found = plans.get(environmentId);
    if (!found || found.plan.release.id !== releaseId) throw ApplicationFailure.nonRetryable(`environment ${environmentId} not found`, 'ENVIRONMENT_NOT_FOUND');
    return found;
  },
  async persistDeploymentJob({ job }) {
    const writes = jobWrites.get(job.id) ?? [];
    if (!writes.length || writes.at(-1)!.version < job.version) writes.push(structuredClone(job));
    jobWrites.set(job.id, writes);
  },
  async persistDeploymentTask({ task }) {
    const current = taskRows.get(task.id);
    if (!current || current.version < task.version) taskRows.set(task.id, structuredClone(task));
  },
  async recordSticker({ task, release }) {
    stickers.push({ targetId: task.targetId, releaseId: release.id, version: release.version, jobId: task.jobId, taskId: task.id });
  },
  async acquireEnvironmentSlot({ environmentId, jobId }) {
    const slot = slots.get(environmentId) ?? { holder: null, waiting: [] };
    slots.set(environmentId, slot);
    if (slot.holder === jobId) return { acquired: true, position: 0, holderJobId: jobId };
    if (!slot.holder && (slot.waiting.length === 0 || slot.waiting[0] === jobId)) {
      slot.holder = jobId;
      slot.waiting = slot.waiting.filter((j) => j !== jobId);
      return { acquired: true, position: 0, holderJobId: jobId };
    }
    if (!slot.waiting.includes(jobId)) slot.waiting.push(jobId);
    return { acquired: false, position: slot.waiting.indexOf(jobId) + 1, holderJobId: slot.holder };
  },
  async releaseEnvironmentSlot({ environmentId, jobId }) {
    const slot = slots.get(environmentId);
    if (!slot) return { nextJobId: null };
    if (slot.holder === jobId) slot.holder = null;
    slot.waiting = slot.waiting.filter((j) => j !== jobId);
    return { nextJobId: slot.holder ? null : (slot.waiting[0] ?? null) };
  },
};

const result = (outcome: 'succeeded' | 'failed', extra: Partial<AgentTaskResult> = {}): AgentTaskResult => ({
  outcome,
  exitCode: outcome === 'succeeded' ? 0 : 1,
  healthChecks: outcome === 'succeeded' ? 1 : 3,
  error: outcome === 'succeeded' ? null : { code: 'HEALTH_CHECK_FAILED', message: 'GET /health answered 503' },
  alreadyClaimed: false,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  ...extra,
});
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ok: Behaviour = async () => {
  await pause(50);
  return result('succeeded');
};
const fails: Behaviour = async () => result('failed');
/** Runs, heartbeating, until cancelled; then says the hook was stopped by SIGTERM. */
const hangs: Behaviour = async () => {
  for (;;) {
    Context.current().heartbeat();
    try {
      await Context.current().sleep(100);
    } catch (err) {
      if (err instanceof CancelledFailure) throw new CancelledFailure('hook stopped', [{ stoppedBy: 'SIGTERM' }]);
      throw err;
    }
  }
};

async function deployTarget(input: AgentTaskInput): Promise<AgentTaskResult> {
  const call = { jobId: input.jobId, targetName: input.target.name, phase: input.phase, attempt: input.attempt, version: input.release.version, start: Date.now() } as (typeof agentCalls)[number];
  agentCalls.push(call);
  try {
    return await (behaviours.get(`${input.target.id}:${input.phase}`) ?? behaviours.get(input.target.id) ?? ok)(input);
  } finally {
    call.end = Date.now();
  }
}

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier file in this jest worker
  }
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: testEnv.temporalAddress });
  orchestratorWorker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: testEnv.workflowBundle, activities: orchestratorActivities });
  agentWorker = await Worker.create({ connection: env.nativeConnection, taskQueue: agentTaskQueue(agentId), activities: { deployTarget } });
  running.push(orchestratorWorker.run(), agentWorker.run());
});

afterAll(async () => {
  orchestratorWorker.shutdown();
  agentWorker.shutdown();
  await Promise.all(running);
  await env.teardown();
});

let scenes = 0;
const release = (version: string): PlanRelease => ({
  id: `rel-${version}-${scenes}`,
  name: 'web-app',
  version,
  components: [{ componentId: 'c-api', name: 'api', version, digest: `sha256:${version}`, deployHook: './deploy.sh' }],
});

interface TargetSpec {
  name: string;
  agent?: string | null;
  /** Runs 1.0.0 before the job (its sticker says so). */
  previous?: boolean;
}

/** An environment of its own, with targets and a plan the in-memory loader serves. */
function scene(specs: TargetSpec[], envSettings: EnvironmentDeploymentSettings = {}) {
  scenes += 1;
  const environment = { id: `env-${randomUUID()}`, name: `production-${scenes}` };
  const current = release('2.0.0');
  const before = release('1.0.0');
  const targets: PlanTarget[] = specs.map((s) => ({
    id: `${environment.id}:${s.name}`,
    name: s.name,
    agentId: s.agent === undefined ? agentId : s.agent,
    labels: { role: 'web' },
    properties: {},
    healthCheck: null,
    previous: s.previous
      ? { releaseId: before.id, releaseName: before.name, version: before.version, digests: { api: 'sha256:1.0.0' }, jobId: 'job-earlier', deployedAt: '2026-01-01T00:00:00.000Z' }
      : null,
  }));
  plans.set(environment.id, { plan: { environment, release: current, targets, previousReleases: { [before.id]: before } }, settings: envSettings });
  const targetId = (name: string) => targets.find((t) => t.name === name)!.id;
  return {
    environment,
    current,
    before,
    targetId,
    behave(name: string, behaviour: Behaviour, phase?: 'deploy' | 'rollback') {
      behaviours.set(phase ? `${targetId(name)}:${phase}` : targetId(name), behaviour);
    },
    async start(over: Partial<DeploymentJobInput> = {}) {
      const jobId = randomUUID();
      const input: DeploymentJobInput = { tenantId, jobId, kind: 'promotion', environmentId: environment.id, releaseId: current.id, requestedBy: 'u-alice', settings, ...over };
      const handle = await env.client.workflow.start<typeof deploymentJob>(DEPLOYMENT_JOB_WORKFLOW_TYPE, { workflowId: workflowId(tenantId, 'deployment', jobId), taskQueue, args: [input] });
      return { jobId, handle };
    },
  };
}

type JobHandle = WorkflowHandle<typeof deploymentJob>;
const tasksOf = (jobId: string) => [...taskRows.values()].filter((t) => t.jobId === jobId).sort((a, b) => (a.targetName + a.phase + a.attempt < b.targetName + b.phase + b.attempt ? -1 : 1));
const lastWrite = (jobId: string) => jobWrites.get(jobId)?.at(-1);
const jobUntil = (handle: JobHandle, check: (j: DeploymentJob) => void) =>
  eventually(async () => {
    const job = await handle.query(getDeploymentJob);
    expect(job).not.toBeNull();
    check(job!);
    return job!;
  });
const activitySummaries = async (handle: JobHandle) =>
  ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).map((e) => JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? '""').toString('utf8')) as string);
const refusalOf = (err: unknown) => {
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
};

test('all at once: every target deployed by its agent, stickers recorded, each change persisted, and the Temporal UI tells where it stands', async () => {
  const s = scene([{ name: 'web-2' }, { name: 'web-1' }, { name: 'web-3' }]);
  const { jobId, handle } = await s.start();
  expect(await handle.result()).toEqual({ id: jobId, status: 'deployed', statusReason: null });

  const writes = jobWrites.get(jobId)!;
  // Concurrent writes may land out of order; the store keeps only newer versions, as the real one does.
  expect(writes.every((w, i) => i === 0 || w.version > writes[i - 1].version)).toBe(true);
  expect(writes[0]).toMatchObject({ status: 'queued', version: 1, strategy: { type: 'all-at-once' }, failurePolicy: 'rollback', environmentName: s.environment.name, releaseName: 'web-app', releaseVersion: '2.0.0' });
  const final = writes.at(-1)!;
  expect(final).toMatchObject({ status: 'deployed', progress: { total: 3, succeeded: 3, failed: 0, running: 0, pending: 0 }, batch: { index: 1, count: 1 } });
  expect(final.startedAt).not.toBeNull();
  expect(final.finishedAt).not.toBeNull();
  expect(await handle.query(getDeploymentJob)).toEqual(final);

  expect(tasksOf(jobId).map((t) => [t.targetName, t.phase, t.attempt, t.status, t.exitCode, t.agentId])).toEqual([
    ['web-1', 'deploy', 1, 'succeeded', 0, agentId],
    ['web-2', 'deploy', 1, 'succeeded', 0, agentId],
    ['web-3', 'deploy', 1, 'succeeded', 0, agentId],
  ]);
  expect(stickers.filter((x) => x.jobId === jobId).map((x) => [x.targetId, x.version]).sort()).toEqual(['web-1', 'web-2', 'web-3'].map((n) => [s.targetId(n), '2.0.0']));

  const described = await eventually(async () => {
    const d = await handle.describe();
    expect(d.searchAttributes).toMatchObject({
      TollgateTenant: [tenantId],
      TollgateKind: ['deployment'],
      TollgateResourceId: [jobId],
      TollgateState: ['deployed'],
      TollgateEnvironment: [s.environment.name],
      TollgateRelease: ['web-app'],
    });
    return d;
  });
  expect(described.status.name).toBe('COMPLETED');
  const metadata: { currentDetails: string } = await handle.query('__temporal_workflow_metadata');
  expect(metadata.currentDetails.split('\n\n')[0]).toBe(`**web-app 2.0.0 → ${s.environment.name}** · **deployed** · all-at-once, batch 1/1 · 3/3 targets done`);
  expect(await activitySummaries(handle)).toEqual(expect.arrayContaining(['Deploy web-app 2.0.0 to web-1', 'Deploy web-app 2.0.0 to web-2', 'Deploy web-app 2.0.0 to web-3']));
});

test('rolling: batches of two in name order, the next starting only after the last has finished', async () => {
  const s = scene(['e', 'c', 'a', 'd', 'b'].map((name) => ({ name })));
  for (const name of ['a', 'b', 'c', 'd', 'e']) s.behave(name, async () => (await pause(300), result('succeeded')));
  const { jobId, handle } = await s.start({ strategy: { type: 'rolling', batchSize: 2 } });
  const seenBatches = new Set<string>();
  const poll = setInterval(() => {
    const b = lastWrite(jobId)?.batch;
    if (b) seenBatches.add(`${b.index}/${b.count}`);
  }, 20);
  expect((await handle.result()).status).toBe('deployed');
  clearInterval(poll);

  const calls = agentCalls.filter((c) => c.jobId === jobId).sort((x, y) => x.start - y.start);
  expect(calls.map((c) => c.targetName).slice(0, 2).sort()).toEqual(['a', 'b']);
  expect(calls.map((c) => c.targetName).slice(2, 4).sort()).toEqual(['c', 'd']);
  const batchOf = (names: string[]) => calls.filter((c) => names.includes(c.targetName));
  const [b1, b2, b3] = [batchOf(['a', 'b']), batchOf(['c', 'd']), batchOf(['e'])];
  expect(Math.min(...b2.map((c) => c.start))).toBeGreaterThanOrEqual(Math.max(...b1.map((c) => c.end!)));
  expect(Math.min(...b3.map((c) => c.start))).toBeGreaterThanOrEqual(Math.max(...b2.map((c) => c.end!)));
  // Within a batch the tasks run side by side.
  expect(Math.abs(b1[0].start - b1[1].start)).toBeLessThan(250);
  expect(lastWrite(jobId)).toMatchObject({ strategy: { type: 'rolling', batchSize: 2 }, batch: { index: 3, count: 3 }, progress: { succeeded: 5 } });
  expect([...seenBatches]).toEqual(expect.arrayContaining(['2/3', '3/3']));
});

test('the environment\'s strategy and policy apply when the request names none; minHealthy tolerates a failure within it', async () => {
  const s = scene([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }], { strategy: { type: 'all-at-once', minHealthy: '75%' }, failurePolicy: 'pause' });
  s.behave('c', fails);
  const { jobId, handle } = await s.start();
  const done = await handle.result();
  expect(done).toEqual({ id: jobId, status: 'deployed', statusReason: 'deployed to 3 of 4 targets (1 failed)' });
  expect(lastWrite(jobId)).toMatchObject({ failurePolicy: 'pause', strategy: { minHealthy: '75%' }, progress: { total: 4, succeeded: 3, failed: 1 }, decisions: [] });
  expect(tasksOf(jobId).find((t) => t.targetName === 'c')).toMatchObject({ status: 'failed', error: { code: 'HEALTH_CHECK_FAILED' }, healthChecks: 3 });
});

test('rollback: a failure past minHealthy returns every updated target, the failed one included, to the release its sticker names; one with none is left and named', async () => {
  const s = scene([{ name: 'a', previous: true }, { name: 'b' }, { name: 'c', previous: true }, { name: 'd', previous: true }]);
  s.behave('c', fails, 'deploy');
  const { jobId, handle } = await s.start({ strategy: { type: 'rolling', batchSize: 1 } });
  const done = await handle.result();
  expect(done.status).toBe('rolled_back');
  // c's hook ran before its health check failed, so c runs the new release too and goes back with a.
  expect(done.statusReason).toBe('c failed: HEALTH_CHECK_FAILED: GET /health answered 503; rolled back 2 targets; left as is (no earlier release on record): b');

  const tasks = tasksOf(jobId);
  expect(tasks.map((t) => [t.targetName, t.phase, t.status, t.releaseVersion])).toEqual([
    ['a', 'deploy', 'succeeded', '2.0.0'],
    ['a', 'rollback', 'succeeded', '1.0.0'],
    ['b', 'deploy', 'succeeded', '2.0.0'],
    ['c', 'deploy', 'failed', '2.0.0'],
    ['c', 'rollback', 'succeeded', '1.0.0'],
  ]);
  // d was never touched: the job stopped at c.
  expect(agentCalls.filter((c) => c.jobId === jobId).map((c) => c.targetName)).not.toContain('d');
  expect(stickers.filter((x) => x.targetId === s.targetId('a')).map((x) => x.version)).toEqual(['2.0.0', '1.0.0']);
  expect(lastWrite(jobId)).toMatchObject({ status: 'rolled_back', progress: { succeeded: 2, failed: 1, pending: 1 } });
  expect(await activitySummaries(handle)).toContain('Roll back a to web-app 1.0.0');
});

test('rollback that cannot finish leaves the job failed, saying which target did not return', async () => {
  const s = scene([{ name: 'a', previous: true }, { name: 'b', previous: true }]);
  s.behave('b', fails, 'deploy');
  s.behave('a', async () => result('failed', { error: { code: 'HOOK_FAILED', message: 'exit 2' } }), 'rollback');
  const { handle } = await s.start({ strategy: { type: 'rolling', batchSize: 1 } });
  const done = await handle.result();
  expect(done.status).toBe('failed');
  expect(done.statusReason).toBe('rollback incomplete: a (HOOK_FAILED: exit 2); after b failed: HEALTH_CHECK_FAILED: GET /health answered 503');
});

test('pause: the job waits on the failure; of two operators answering it one wins; retry runs a new attempt and skip moves on', async () => {
  const s = scene([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  let aAttempts = 0;
  s.behave('a', async () => (++aAttempts === 1 ? result('failed') : result('succeeded')));
  s.behave('b', fails);
  const { jobId, handle } = await s.start({ failurePolicy: 'pause', strategy: { type: 'rolling', batchSize: 1 } });

  const paused = await jobUntil(handle, (j) => expect(j.status).toBe('paused'));
  expect(paused.pausedOn).toMatchObject({ targetName: 'a', targetId: s.targetId('a'), error: { code: 'HEALTH_CHECK_FAILED' } });
  await eventually(() => expect(lastWrite(jobId)).toMatchObject({ status: 'paused', pausedOn: paused.pausedOn }));
  const metadata: { currentDetails: string } = await handle.query('__temporal_workflow_metadata');
  expect(metadata.currentDetails.split('\n\n')[1]).toMatch(/^Waiting for: an operator to retry, skip, rollback or abort \(paused on a: HEALTH_CHECK_FAILED: /);

  // A decision on a task the job is not paused on is refused before it enters history.
  const wrong = refusalOf(await handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'skip', taskId: 'not-this-one' }, alice] }).catch((e) => e));
  expect(wrong.type).toBe('JOB_NOT_PAUSED');
  expect(wrong.details?.[0]).toMatchObject({ kind: 'invalid_state' });

  const answers = await Promise.allSettled([
    handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'retry', taskId: paused.pausedOn!.taskId, reason: 'fixed the config' }, alice] }),
    handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'skip', taskId: paused.pausedOn!.taskId, reason: 'skip it' }, bob] }),
  ]);
  const won = answers.filter((a): a is PromiseFulfilledResult<DeploymentJob> => a.status === 'fulfilled');
  const lost = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  expect(refusalOf(lost[0].reason).type).toBe('FAILURE_ALREADY_DECIDED');
  const answered = won[0].value;
  expect(answered.pausedOn).toBeNull();
  expect(answered.decisions).toHaveLength(1);
  expect(jobWrites.get(jobId)!.some((w) => w.version === answered.version && w.decisions.length === 1)).toBe(true);
  const winner = answered.decisions[0];

  // b fails next (its own pause); skip it either way.
  const second = await jobUntil(handle, (j) => expect(j.pausedOn?.targetName).toBe('b'));
  const skipped = await handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'skip', taskId: second.pausedOn!.taskId, reason: 'b is being rebuilt' }, alice] });
  expect(skipped).toMatchObject({ status: 'running', pausedOn: null });
  // Either answer may win the race above: when it was skip, a is skipped too.
  expect(skipped.progress.skipped).toBe(winner.action === 'skip' ? 2 : 1);

  const done = await handle.result();
  expect(done.status).toBe('deployed');
  const final = lastWrite(jobId)!;
  expect(final.decisions.map((d) => [d.action, d.by, d.reason, d.targetId])).toEqual([
    winner.action === 'retry' ? ['retry', 'alice@example.com', 'fixed the config', s.targetId('a')] : ['skip', 'bob@example.com', 'skip it', s.targetId('a')],
    ['skip', 'alice@example.com', 'b is being rebuilt', s.targetId('b')],
  ]);
  const tasks = tasksOf(jobId);
  expect(tasks.filter((t) => t.targetName === 'b').map((t) => t.status)).toEqual(['skipped']);
  expect(tasks.filter((t) => t.targetName === 'a').map((t) => [t.attempt, t.status])).toEqual(winner.action === 'retry' ? [[1, 'failed'], [2, 'succeeded']] : [[1, 'skipped']]);
  expect(tasks.find((t) => t.targetName === 'c')).toMatchObject({ status: 'succeeded' });
  // A worker restarted mid-job replays this history: racing updates, pauses and retries included, it must replay as it ran.
  await Worker.runReplayHistory({ workflowBundle: testEnv.workflowBundle }, await handle.fetchHistory(), handle.workflowId);
});

test('pause, then abort: the job fails saying who aborted and why, and gives the environment back', async () => {
  const s = scene([{ name: 'a' }, { name: 'b' }]);
  s.behave('a', fails);
  const { jobId, handle } = await s.start({ failurePolicy: 'pause' });
  const paused = await jobUntil(handle, (j) => expect(j.status).toBe('paused'));
  const aborted = await handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'abort', taskId: paused.pausedOn!.taskId, reason: 'bad build' }, alice] });
  expect(aborted).toMatchObject({ status: 'failed', statusReason: 'aborted by alice@example.com: bad build' });
  expect(await handle.result()).toEqual({ id: jobId, status: 'failed', statusReason: 'aborted by alice@example.com: bad build' });
  expect(lastWrite(jobId)).toMatchObject({ status: 'failed', finishedAt: expect.any(String) });
  expect(slots.get(s.environment.id)?.holder).toBeNull();
});

test('pause, then rollback chosen by an operator compensates like the rollback policy', async () => {
  const s = scene([{ name: 'a', previous: true }, { name: 'b', previous: true }]);
  s.behave('b', fails, 'deploy');
  const { jobId, handle } = await s.start({ failurePolicy: 'pause', strategy: { type: 'rolling', batchSize: 1 } });
  const paused = await jobUntil(handle, (j) => expect(j.pausedOn?.targetName).toBe('b'));
  const answered = await handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'rollback', taskId: paused.pausedOn!.taskId }, bob] });
  expect(answered.status).toBe('rolling_back');
  expect(await handle.result()).toMatchObject({ status: 'rolled_back' });
  expect(tasksOf(jobId).map((t) => [t.targetName, t.phase, t.status])).toEqual([
    ['a', 'deploy', 'succeeded'],
    ['a', 'rollback', 'succeeded'],
    ['b', 'deploy', 'failed'],
    ['b', 'rollback', 'succeeded'],
  ]);
});

test('cancel stops running tasks through their heartbeats and answers with the cancelled job as persisted', async () => {
  const s = scene([{ name: 'a' }, { name: 'b' }]);
  s.behave('a', hangs);
  s.behave('b', hangs);
  const { jobId, handle } = await s.start();
  await until('both tasks to run on the agent', () => agentCalls.filter((c) => c.jobId === jobId).length === 2);
  const cancelled = await handle.executeUpdate(cancelDeploymentJob, { args: [{ reason: 'wrong window' }, alice] });
  expect(cancelled).toMatchObject({ status: 'cancelled', statusReason: 'cancelled by alice@example.com: wrong window' });
  expect(cancelled).toEqual(lastWrite(jobId));
  expect(cancelled.decisions).toEqual([expect.objectContaining({ action: 'cancel', by: 'alice@example.com', reason: 'wrong window' })]);
  expect(tasksOf(jobId).map((t) => [t.status, t.error?.code, t.stoppedBy])).toEqual([
    ['cancelled', 'CANCELLED', 'SIGTERM'],
    ['cancelled', 'CANCELLED', 'SIGTERM'],
  ]);
  // Stopped targets count as cancelled: neither failed nor still to come.
  expect(cancelled.progress).toEqual({ total: 2, succeeded: 0, failed: 0, skipped: 0, cancelled: 2, running: 0, pending: 0 });
  expect(await handle.result()).toMatchObject({ status: 'cancelled' });
  const metadata: { currentDetails: string } = await handle.query('__temporal_workflow_metadata');
  expect(metadata.currentDetails.split('\n\n')[0]).toContain('2/2 targets done, 2 cancelled');
});

test('a job whose failures left every target untouched (no agent, agent offline) ends failed, not rolled_back, and says nothing went back', async () => {
  const orphan = scene([{ name: 'a', agent: null, previous: true }, { name: 'b', previous: true }]);
  const one = await orphan.start({ strategy: { type: 'rolling', batchSize: 1 } });
  expect(await one.handle.result()).toEqual({
    id: one.jobId,
    status: 'failed',
    statusReason: 'a failed: NO_AGENT: target a has no agent to run its deployment; no target was changed, so nothing was rolled back',
  });
  expect(tasksOf(one.jobId).map((t) => [t.targetName, t.phase, t.status])).toEqual([['a', 'deploy', 'failed']]);
  expect(lastWrite(one.jobId)).toMatchObject({ status: 'failed', finishedAt: expect.any(String), progress: { failed: 1, pending: 1 } });

  const offline = scene([{ name: 'a', agent: offlineAgentId, previous: true }, { name: 'b', agent: null }]);
  const two = await offline.start();
  const done = await two.handle.result();
  expect(done.status).toBe('failed');
  expect(done.statusReason).toMatch(/^a failed: AGENT_OFFLINE: .*; no target was changed, so nothing was rolled back$/);
  expect(tasksOf(two.jobId).filter((t) => t.phase === 'rollback')).toEqual([]);
  expect(agentCalls.filter((c) => c.jobId === two.jobId)).toEqual([]);
});

test('agent failures: a stopped heartbeat is AGENT_LOST, an unclaimed task AGENT_OFFLINE, no agent NO_AGENT, an agent error keeps its code', async () => {
  const s = scene([{ name: 'lost' }, { name: 'offline', agent: offlineAgentId }, { name: 'orphan', agent: null }, { name: 'broken' }, { name: 'fine' }]);
  s.behave('lost', async () => (await pause(2_500), result('succeeded')));
  s.behave('broken', async () => {
    throw ApplicationFailure.nonRetryable('artifact registry unreachable', 'ARTIFACT_FETCH_FAILED');
  });
  // minHealthy 0 tolerates every failure, so the job runs them all and shows each.
  const { jobId, handle } = await s.start({ strategy: { type: 'all-at-once', minHealthy: '0' } });
  expect((await handle.result()).status).toBe('deployed');
  const byName = Object.fromEntries(tasksOf(jobId).map((t) => [t.targetName, t]));
  expect(byName.lost).toMatchObject({ status: 'failed', error: { code: 'AGENT_LOST', message: `agent ${agentId} stopped heartbeating for 1s; presumed dead` } });
  expect(byName.offline).toMatchObject({ status: 'failed', error: { code: 'AGENT_OFFLINE' } });
  expect(byName.orphan).toMatchObject({ status: 'failed', agentId: null, error: { code: 'NO_AGENT' } });
  expect(byName.broken).toMatchObject({ status: 'failed', error: { code: 'ARTIFACT_FETCH_FAILED', message: 'artifact registry unreachable' } });
  expect(byName.fine).toMatchObject({ status: 'succeeded' });
  expect(lastWrite(jobId)).toMatchObject({ progress: { total: 5, succeeded: 1, failed: 4 } });
});

test('one job per environment: the second waits visibly queued, then runs once the first gives the slot back', async () => {
  const s = scene([{ name: 'a' }]);
  let first = true;
  s.behave('a', async () => (first ? ((first = false), result('failed')) : result('succeeded')));
  const one = await s.start({ failurePolicy: 'pause' });
  const paused = await jobUntil(one.handle, (j) => expect(j.status).toBe('paused'));
  const two = await s.start();
  const queued = await jobUntil(two.handle, (j) => expect(j).toMatchObject({ status: 'queued', queuePosition: 1, statusReason: `queued behind job ${one.jobId}` }));
  await eventually(() => expect(lastWrite(two.jobId)).toMatchObject({ status: 'queued', queuePosition: queued.queuePosition }));
  await eventually(async () => expect(timersIn(await two.handle.fetchHistory())).toEqual(expect.arrayContaining([expect.objectContaining({ summary: `queued behind job ${one.jobId}`, durationMs: 10_000 })])));

  await one.handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'abort', taskId: paused.pausedOn!.taskId }, alice] });
  const started = Date.now();
  expect((await two.handle.result()).status).toBe('deployed');
  // Woken by the slotFreed signal, not by its 10 s poll.
  expect(Date.now() - started).toBeLessThan(8_000);
  expect(lastWrite(two.jobId)).toMatchObject({ queuePosition: null, progress: { succeeded: 1 } });
  // The job ahead may have moved the targets' stickers (what a rollback returns them to): a job that waited reads them again.
  expect(await activitySummaries(two.handle)).toContain('Reload the plan after waiting: targets, agents, stickers');
  expect(agentCalls.filter((c) => c.jobId === two.jobId).map((c) => c.version)).toEqual(['2.0.0']);
});

test('a cancelled queued job never runs and leaves the line', async () => {
  const s = scene([{ name: 'a' }]);
  s.behave('a', hangs);
  const one = await s.start();
  await until('the first job to run', () => agentCalls.some((c) => c.jobId === one.jobId));
  const two = await s.start();
  await jobUntil(two.handle, (j) => expect(j.status).toBe('queued'));
  const cancelled = await two.handle.executeUpdate(cancelDeploymentJob, { args: [{ reason: 'not needed' }, bob] });
  expect(cancelled).toMatchObject({ status: 'cancelled', statusReason: 'cancelled by bob@example.com: not needed', queuePosition: null });
  await eventually(() => expect(slots.get(s.environment.id)?.waiting).not.toContain(two.jobId));
  await one.handle.executeUpdate(cancelDeploymentJob, { args: [{}, alice] });
  expect(agentCalls.filter((c) => c.jobId === two.jobId)).toEqual([]);
});

test('a job with no targets ends deployed at once; a plan that cannot load ends failed', async () => {
  const s = scene([]);
  const { jobId, handle } = await s.start();
  expect(await handle.result()).toEqual({ id: jobId, status: 'deployed', statusReason: `no target in ${s.environment.name}; nothing to deploy` });
  expect(jobWrites.get(jobId)).toHaveLength(1);

  const missing = await s.start({ environmentId: 'env-gone' });
  expect(await missing.handle.result()).toMatchObject({ status: 'failed', statusReason: 'the deployment plan could not be loaded: environment env-gone not found' });
});

test('a job queued long enough continues as new, carrying its place, and runs when its turn comes', async () => {
  const s = scene([{ name: 'a' }]);
  s.behave('a', hangs);
  const one = await s.start();
  await until('the first job to run', () => agentCalls.some((c) => c.jobId === one.jobId));
  const two = await s.start({ maxHistoryEvents: 20 });
  const firstRun = (await two.handle.describe()).runId;
  await until('the queued job to continue as new', async () => (await two.handle.describe()).runId !== firstRun, 20_000, 200);
  expect(await two.handle.query(getDeploymentJob)).toMatchObject({ status: 'queued', queuePosition: 1, id: two.jobId });
  s.behave('a', ok);
  await one.handle.executeUpdate(cancelDeploymentJob, { args: [{}, alice] });
  expect((await two.handle.result()).status).toBe('deployed');
});

/** The runs a workflow id went through, oldest first, and the longest history among them. */
async function runsOf(workflowIdOf: string): Promise<{ runs: number; longest: number }> {
  const runs: number[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = '${workflowIdOf}'` })) runs.push(w.historyLength);
  return { runs: runs.length, longest: Math.max(...runs) };
}

test('a long rolling job continues as new between batches, carrying its progress, and finishes with every target deployed; a pause decision reaches a later run', async () => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const s = scene(names.map((name) => ({ name, previous: true })), { strategy: { type: 'rolling', batchSize: 1 }, failurePolicy: 'pause' });
  s.behave('e', fails);
  const { jobId, handle } = await s.start({ maxHistoryEvents: 40 });
  const paused = await jobUntil(handle, (j) => expect(j).toMatchObject({ status: 'paused', pausedOn: { targetName: 'e' } }));
  // By then it has handed over at least once: the paused run is not the first.
  expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
  expect(paused.progress).toMatchObject({ total: 6, succeeded: 4, failed: 1, pending: 1 });

  s.behave('e', ok);
  await handle.executeUpdate(decideDeploymentFailure, { args: [{ action: 'retry', taskId: paused.pausedOn!.taskId, reason: 'fixed' }, alice] });
  expect(await handle.result()).toEqual({ id: jobId, status: 'deployed', statusReason: null });
  expect(lastWrite(jobId)).toMatchObject({ status: 'deployed', progress: { total: 6, succeeded: 6, failed: 0, pending: 0 }, batch: { index: 6, count: 6 } });
  expect(lastWrite(jobId)!.decisions).toEqual([expect.objectContaining({ action: 'retry', taskId: paused.pausedOn!.taskId })]);
  expect(stickers.filter((x) => x.jobId === jobId).map((x) => x.targetId).sort()).toEqual(names.map((n) => s.targetId(n)).sort());
  // Each target deployed once (e twice: the failure and the retry), in name order, however many runs it took.
  expect(agentCalls.filter((c) => c.jobId === jobId).map((c) => `${c.targetName}${c.attempt}`)).toEqual(['a1', 'b1', 'c1', 'd1', 'e1', 'e2', 'f1']);
  const { runs } = await eventually(async () => {
    const r = await runsOf(workflowId(tenantId, 'deployment', jobId));
    expect(r.runs).toBeGreaterThanOrEqual(3);
    return r;
  });
  expect(runs).toBeGreaterThanOrEqual(3);
  // The slot is given back once, by the run that ends the job.
  expect(slots.get(s.environment.id)?.holder).toBeNull();
});

test('a cancel reaches a job that has continued as new: the running task is stopped and the rest never start', async () => {
  const s = scene(['a', 'b', 'c', 'd'].map((name) => ({ name })), { strategy: { type: 'rolling', batchSize: 1 } });
  s.behave('c', hangs);
  const { jobId, handle } = await s.start({ maxHistoryEvents: 40 });
  await until('c to run', () => agentCalls.some((c) => c.jobId === jobId && c.targetName === 'c'));
  expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
  const cancelled = await handle.executeUpdate(cancelDeploymentJob, { args: [{ reason: 'wrong release' }, bob] });
  expect(cancelled).toMatchObject({ status: 'cancelled', progress: { succeeded: 2, cancelled: 1, pending: 1 } });
  expect((await handle.result()).status).toBe('cancelled');
  expect(tasksOf(jobId).find((t) => t.targetName === 'c')).toMatchObject({ status: 'cancelled', stoppedBy: 'SIGTERM' });
  expect(agentCalls.filter((c) => c.jobId === jobId).map((c) => c.targetName)).toEqual(['a', 'b', 'c']);
  expect(slots.get(s.environment.id)?.holder).toBeNull();
});

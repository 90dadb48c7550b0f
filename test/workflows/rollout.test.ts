import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { CommandMeta } from '../../domain/actor';
import { agentTaskQueue } from '../../domain/deployments/model';
import type { Rollout, RolloutPlan } from '../../domain/rollouts/model';
import { createRolloutSchema } from '../../domain/rollouts/requests';
import type { rollout } from '../../workflows/rollouts/rollout';
import {
  advanceRollout,
  createRollout,
  getRollout,
  pauseRollout,
  promoteRollout,
  readRolloutTraffic,
  resumeRollout,
  retryRollout,
  rollbackRollout,
  ROLLOUT_WORKFLOW_TYPE,
  startRollout,
} from '../../workflows/rollouts/messages';
import { eventually } from '../support/eventually';
import { createFakeRouter } from '../support/fake-router';
import { startWorkflowWorker, type WorkflowWorker } from '../support/workflow-worker';

/**
 * The rollout workflow driven through Temporal with the real orchestrator
 * activities (Postgres) and, on the router agent's own queue, a worker whose
 * setTraffic/readTraffic/routerStats keep a router in memory: what each test
 * makes the canary answer is what its counters show.
 */
let harness: WorkflowWorker;
let agentWorker: Worker;
let agentRun: Promise<void>;
const tenantId = `wf-${randomUUID().slice(0, 8)}`;
const agentId = randomUUID();
const operator: CommandMeta = { actor: { userId: 'u-op', email: 'op@example.com', permissions: ['rollout:operate'] }, requestId: 'req-1' };

const { activities: fakeRouter, routeOf } = createFakeRouter();

const plan: RolloutPlan = {
  routerAgentId: agentId,
  routerProvider: 'haproxy',
  routerListen: '127.0.0.1:8080',
  stable: [{ name: 's1', targetId: randomUUID(), host: '127.0.0.1', port: 4001 }],
  canary: [{ name: 'c1', targetId: randomUUID(), host: '127.0.0.1', port: 4002 }],
  stableVersion: '2.3.0',
  canaryVersion: '2.4.0',
};

beforeAll(async () => {
  harness = await startWorkflowWorker('wf-rollout');
  agentWorker = await Worker.create({ connection: harness.env.nativeConnection, taskQueue: agentTaskQueue(agentId), activities: fakeRouter });
  agentRun = agentWorker.run();
});

afterAll(async () => {
  agentWorker?.shutdown();
  await agentRun;
  await harness?.close();
});

async function begin(steps: unknown[], extra: Record<string, unknown> = {}, startPlan: RolloutPlan = plan) {
  const rolloutId = randomUUID();
  const environmentId = randomUUID();
  const input = createRolloutSchema.parse({ name: `r ${rolloutId.slice(0, 6)}`, environmentId, stableReleaseId: randomUUID(), canaryReleaseId: randomUUID(), strategy: 'canary', steps, ...extra });
  const { client } = harness.env;
  const workflowId = `${tenantId}:rollout:${rolloutId}`;
  const created = await client.workflow.executeUpdateWithStart(createRollout, {
    args: [{ input, names: { environmentName: 'prod', stableReleaseName: 'myapp 2.3', canaryReleaseName: 'myapp 2.4' } }, operator],
    startWorkflowOperation: new WithStartWorkflowOperation<typeof rollout>(ROLLOUT_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: harness.taskQueue,
      args: [{ tenantId, rolloutId, agentPickupTimeoutMs: 2_000 }],
      workflowIdConflictPolicy: 'FAIL',
    }),
  });
  expect(created.state).toBe('created');
  const handle = client.workflow.getHandle<typeof rollout>(workflowId);
  const started = await handle.executeUpdate(startRollout, { args: [{ input: { reason: 'ship it' }, plan: startPlan }, operator] });
  expect(started.state).toBe('running');
  return { handle, rolloutId, route: routeOf(environmentId) };
}

const rowOf = async (id: string) => (await harness.pool.query<{ state: string; body: Rollout }>('SELECT state, body FROM rollouts WHERE tenant_id = $1 AND id = $2', [tenantId, id])).rows[0];

test('a canary walks its steps: weights set and read back, a timed pause, completion at 100%', async () => {
  const { handle, rolloutId, route } = await begin([{ setWeight: 10 }, { pause: { duration: '1s' } }, { setWeight: 50 }, { setWeight: 100 }]);
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
  expect(route.sets.map((s) => s.canaryWeight)).toEqual([10, 50, 100, 100]);
  const row = await rowOf(rolloutId);
  expect(row.state).toBe('completed');
  expect(row.body).toMatchObject({ canaryWeight: 100, traffic: { canaryWeight: 100, provider: 'haproxy' }, stepIndex: 4 });
  expect(row.body.history.map((h) => h.action)).toEqual(expect.arrayContaining(['rollout.create', 'rollout.start', 'rollout.traffic', 'rollout.complete']));
});

test('a pause without duration waits for advance', async () => {
  const { handle, rolloutId, route } = await begin([{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }]);
  await eventually(async () => expect((await handle.query(getRollout))).toMatchObject({ state: 'paused', stepIndex: 1, canaryWeight: 20 }));
  const advanced = await handle.executeUpdate(advanceRollout, { args: [{ reason: 'looks good' }, operator] });
  expect(advanced).toMatchObject({ state: 'running', stepIndex: 2 });
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
  expect(route.sets.map((s) => s.canaryWeight)).toEqual([20, 60, 100]);
});

test('an analysis whose router counters show 5xx on the canary rolls back by itself within seconds, and retry runs again', async () => {
  const { handle, rolloutId, route } = await begin([{ setWeight: 50 }, { analysis: { metric: 'error-rate', max: 0.05, window: '3s', interval: '1s' } }, { setWeight: 100 }]);
  route.canaryErrorRate = 0.5;
  const aborted = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r).toMatchObject({ state: 'aborted', canaryWeight: 0, lastVerdict: { verdict: 'fail' } });
    return r;
  });
  expect(aborted.abortReason).toMatch(/analysis of step 2 failed 1 time\(s\): canary error-rate 0.5 is above the maximum 0.05/);
  expect(route.canaryWeight).toBe(0);
  expect(route.match).toBeNull();
  // From the failing measurement to 0 % canary on the router: the judge's verdict time against the router's last set.
  const verdictAt = Date.parse(aborted.lastVerdict!.at);
  expect(route.sets.at(-1)!.at - verdictAt).toBeLessThan(5_000);
  const kept = await eventually(async () => {
    const { rows } = await harness.pool.query('SELECT verdict, sample, thresholds FROM rollout_measurements WHERE tenant_id = $1 AND rollout_id = $2', [tenantId, rolloutId]);
    expect(rows).toHaveLength(1);
    return rows[0];
  });
  expect(kept).toMatchObject({ verdict: 'fail', sample: { canary: { requests: 50, errors: 25 } }, thresholds: { metric: 'error-rate', max: 0.05 } });
  expect((await rowOf(rolloutId)).state).toBe('aborted');

  route.canaryErrorRate = 0;
  const retried = await handle.executeUpdate(retryRollout, { args: [{ input: { reason: 'fixed' }, plan }, operator] });
  expect(retried).toMatchObject({ state: 'running', stepIndex: 0 });
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
});

test('a rollback during a pause returns traffic to stable at once', async () => {
  const { handle, rolloutId, route } = await begin([{ setWeight: 30 }, { pause: { duration: '1h' } }, { setWeight: 100 }]);
  await eventually(async () => expect(await handle.query(getRollout)).toMatchObject({ stepIndex: 1, canaryWeight: 30 }));
  const rolled = await handle.executeUpdate(rollbackRollout, { args: [{ reason: 'customer reports' }, operator] });
  expect(rolled).toMatchObject({ state: 'aborted', canaryWeight: 0, abortReason: 'rolled back by op@example.com: customer reports' });
  expect(route.canaryWeight).toBe(0);
  const reading = await handle.executeUpdate(readRolloutTraffic, { args: [] });
  expect(reading).toMatchObject({ live: true, traffic: { canaryWeight: 0, match: null } });
  await eventually(async () => expect((await rowOf(rolloutId)).body).toMatchObject({ state: 'aborted', canaryWeight: 0 }));
});

test('a manual pause holds the weights; commands the state refuses never enter history', async () => {
  const { handle } = await begin([{ setWeight: 40 }, { pause: { duration: '1h' } }]);
  await eventually(async () => expect(await handle.query(getRollout)).toMatchObject({ stepIndex: 1, canaryWeight: 40 }));
  const paused = await handle.executeUpdate(pauseRollout, { args: [{ reason: 'hold' }, operator] });
  expect(paused).toMatchObject({ state: 'paused', pausedReason: 'paused by op@example.com: hold' });
  await expect(handle.executeUpdate(pauseRollout, { args: [{}, operator] })).rejects.toMatchObject({ cause: { type: 'INVALID_STATE_TRANSITION', message: expect.stringMatching(/cannot pause/) } });
  await expect(handle.executeUpdate(advanceRollout, { args: [{}, { actor: { userId: 'u-view', permissions: ['rollout:read'] } }] })).rejects.toMatchObject({
    cause: { type: 'FORBIDDEN', message: expect.stringMatching(/rollout:operate/) },
  });
  await handle.executeUpdate(rollbackRollout, { args: [{ reason: 'done testing' }, operator] });
});

test('cancelling the workflow runs the undo: traffic back to stable, the record aborted', async () => {
  const { handle, rolloutId, route } = await begin([{ setWeight: 30 }, { pause: {} }], { strategy: 'abTest', match: { header: { name: 'X-Group', value: 'b' } } });
  await eventually(async () => expect(await handle.query(getRollout)).toMatchObject({ state: 'paused', canaryWeight: 30, activeMatch: { header: { name: 'X-Group', value: 'b' } } }));
  expect(route.match).toEqual({ header: { name: 'X-Group', value: 'b' } });
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow();
  expect(route.canaryWeight).toBe(0);
  expect(route.match).toBeNull();
  await eventually(async () => expect((await rowOf(rolloutId)).body).toMatchObject({ state: 'aborted', canaryWeight: 0, abortReason: expect.stringMatching(/cancelled/) }));
});

test('a router agent that picks nothing up fails the rollout within seconds, naming the agent', async () => {
  const offline = { ...plan, routerAgentId: randomUUID() };
  const { handle } = await begin([{ setWeight: 10 }], {}, offline);
  const failed = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r.state).toBe('failed');
    return r;
  }, { timeoutMs: 15_000 });
  expect(failed.abortReason).toMatch(new RegExp(`set weight 10% failed on the router of agent ${offline.routerAgentId}`));
  await handle.terminate('test over');
});

test('a step that makes no progress within its deadline rolls back by itself, without waiting for what hangs', async () => {
  const { handle, route } = await begin([{ setWeight: 30 }, { analysis: { metric: 'error-rate', max: 0.05, window: '1s', interval: '1s' } }], { progressDeadline: '2s' });
  // The router answers its counters only after the deadline; the analysis is cut off at the deadline.
  route.statsDelayMs = 12_000;
  const startedAt = Date.now();
  const aborted = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r.state).toBe('aborted');
    return r;
  }, { timeoutMs: 20_000 });
  expect(aborted.abortReason).toMatch(/step 2 \(analysis error-rate ≤ 0.05 \(router, 1s\)\) made no progress within its deadline of 3s/);
  expect(Date.now() - startedAt).toBeLessThan(10_000);
  expect(route.canaryWeight).toBe(0);
  await handle.executeUpdate(rollbackRollout, { args: [{ reason: 'done' }, operator] }).catch(() => undefined);
  await handle.terminate('test over');
});

test('blue-green: the preview match first, an http analysis of it, a wait for promote, then the switch to 100%', async () => {
  const { handle, rolloutId, route } = await begin([], {
    strategy: 'blueGreen',
    steps: undefined,
    blueGreen: { prePromotionAnalysis: { metric: 'error-rate', provider: 'http', max: 0.1, window: '1s', interval: '1s', minRequests: 1 } },
  });
  const waiting = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r).toMatchObject({ state: 'paused', stepIndex: 2, canaryWeight: 0, activeMatch: { header: { name: 'X-Preview', value: 'true' } } });
    return r;
  });
  expect(waiting.lastVerdict).toMatchObject({ verdict: 'pass', provider: 'http', sample: { canary: { requests: 1, errors: 0 } } });
  expect(route.match).toEqual({ header: { name: 'X-Preview', value: 'true' } });
  await handle.executeUpdate(promoteRollout, { args: [{ full: false, reason: 'preview looks right' }, operator] });
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
  expect(route.sets.map((s) => [s.canaryWeight, s.match ? 'preview' : null])).toEqual([
    [0, 'preview'],
    [0, null],
    [100, null],
    [100, null],
  ]);
});

test('an analysis with too few requests over its window is inconclusive and pauses for a person; advance goes on', async () => {
  const { handle, rolloutId } = await begin([{ setWeight: 10 }, { analysis: { metric: 'error-rate', max: 0.05, window: '2s', interval: '1s', minRequests: 1000 } }, { setWeight: 100 }]);
  const paused = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r).toMatchObject({ state: 'paused', stepIndex: 1, lastVerdict: { verdict: 'inconclusive' } });
    return r;
  });
  expect(paused.pausedReason).toMatch(/analysis of step 2 inconclusive over its window \(canary served 10 request\(s\), fewer than the 1000 needed to judge\)/);
  await handle.executeUpdate(advanceRollout, { args: [{ reason: 'judged by eye' }, operator] });
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
});

test('a person’s pause during a timed pause, then resume: the pause goes on with what it had left, not from its beginning', async () => {
  const { handle, rolloutId } = await begin([{ setWeight: 10 }, { pause: { duration: '6s' } }, { setWeight: 50 }]);
  const inPause = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r).toMatchObject({ state: 'running', stepIndex: 1 });
    return r;
  });
  // Three of its six seconds go by, then it is held for three more.
  await eventually(async () => expect(Date.now() - Date.parse(inPause.stepStartedAt!)).toBeGreaterThanOrEqual(3_000), { timeoutMs: 10_000 });
  const paused = await handle.executeUpdate(pauseRollout, { args: [{ reason: 'look' }, operator] });
  await eventually(async () => expect(Date.now() - Date.parse(paused.pausedAt!)).toBeGreaterThanOrEqual(3_000), { timeoutMs: 10_000 });
  const resumed = await handle.executeUpdate(resumeRollout, { args: [{ reason: 'go on' }, operator] });
  expect(resumed).toMatchObject({ state: 'running', stepIndex: 1, pausedAt: null });
  const resumedAt = Date.now();
  await eventually(async () => expect((await handle.query(getRollout))!.stepIndex).toBeGreaterThanOrEqual(2), { timeoutMs: 10_000, intervalMs: 100 });
  // About three seconds were left; from its beginning it would have taken six.
  expect(Date.now() - resumedAt).toBeLessThan(4_800);
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
});

test('a person’s pause during an analysis, then resume: its measurements stay and only the rest of its window is measured', async () => {
  const { handle, rolloutId } = await begin([{ setWeight: 50 }, { analysis: { metric: 'error-rate', max: 0.05, window: '6s', interval: '1s', minRequests: 1 } }, { setWeight: 100 }]);
  const measuring = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r.analysis?.measurements ?? 0).toBeGreaterThanOrEqual(3);
    return r;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  const paused = await handle.executeUpdate(pauseRollout, { args: [{ reason: 'look' }, operator] });
  const kept = paused.analysis!;
  expect(kept.measurements).toBeGreaterThanOrEqual(measuring.analysis!.measurements);
  await eventually(async () => expect(Date.now() - Date.parse(paused.pausedAt!)).toBeGreaterThanOrEqual(3_000), { timeoutMs: 10_000 });
  const resumed = await handle.executeUpdate(resumeRollout, { args: [{}, operator] });
  // The same measurements, the window's start moved by the time held.
  expect(resumed.analysis).toMatchObject({ stepIndex: 1, measurements: kept.measurements, passes: kept.passes });
  expect(Date.parse(resumed.analysis!.startedAt) - Date.parse(kept.startedAt)).toBeGreaterThanOrEqual(3_000);
  const done = await eventually(async () => {
    const r = (await handle.query(getRollout))!;
    expect(r.stepIndex).toBeGreaterThanOrEqual(2);
    return r;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  expect(await handle.result()).toEqual({ id: rolloutId, state: 'completed' });
  const { rows } = await harness.pool.query('SELECT count(*)::int AS n FROM rollout_measurements WHERE tenant_id = $1 AND rollout_id = $2', [tenantId, rolloutId]);
  // One six-second window of one-second measurements in all (at most six), not three and then a whole window more.
  expect(rows[0].n).toBeLessThanOrEqual(6);
  expect(done.history.map((h) => h.action)).toEqual(expect.arrayContaining(['rollout.pause', 'rollout.resume']));
});

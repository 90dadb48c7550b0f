import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { AgentApiClient } from '../../agent/runtime/api-client';
import { createAgentActivities, DEPLOY_INTERRUPTED_MESSAGE } from '../../agent/activities/deploy-target';
import { statePaths } from '../../agent/runtime/state-files';
import { TargetRecords } from '../../agent/runtime/target-reports';
import type { AgentTaskInput, AgentTaskResult, HealthCheck, PlanComponent } from '../../domain/deployments/model';
import { createLogger } from '../../platform/logger';
import { until } from '../support/eventually';
import { FakeAgentApi } from './agent-fake-api';

/**
 * The agent's deployTarget activity against real `sh` hooks and a small in-test API that records what the agent
 * sends: claim before any hook, hook output shipped while it runs, artifacts, health checks with retries, an
 * already-claimed attempt, transient API failures, the log cap, and cancellation (SIGTERM, then SIGKILL).
 */

let api: FakeAgentApi;
let stateDir: string;
let agentId: string;
let records: TargetRecords;
let activities: ReturnType<typeof createAgentActivities>;
const AGENT_NAME = 'web-agent';

beforeEach(async () => {
  api = await new FakeAgentApi().start();
  const agent = api.addAgent({ name: AGENT_NAME });
  agentId = agent.id;
  stateDir = mkdtempSync(path.join(tmpdir(), 'agent-task-'));
  records = new TargetRecords(statePaths(stateDir, AGENT_NAME).targets);
  const client = new AgentApiClient({ baseUrl: api.url, identity: () => ({ id: agent.id, credential: agent.credential }) });
  activities = createAgentActivities({ api: client, stateDir, agentName: AGENT_NAME, records, log: createLogger('agent', 'silent') });
});

afterEach(async () => {
  await api.close();
  rmSync(stateDir, { recursive: true, force: true });
});

let seq = 0;
function task(options: { hooks?: Array<[string, string | null]>; healthCheck?: HealthCheck | null; cancelGraceMs?: number; logCapBytes?: number; target?: string } = {}): AgentTaskInput {
  seq += 1;
  const components: PlanComponent[] = (options.hooks ?? [['web', 'echo deployed']]).map(([name, hook], i) => ({
    componentId: `c-${i}`,
    name,
    version: `1.4.${i}`,
    digest: `sha256:${name}`,
    deployHook: hook,
  }));
  return {
    tenantId: 'acme',
    jobId: `job-${seq}`,
    taskId: `task-${seq}`,
    phase: 'deploy',
    attempt: 1,
    release: { id: 'rel-14', name: 'shop', version: '1.4.0', components },
    target: { id: options.target ?? 't1', name: options.target ?? 'web-1', labels: { role: 'web' }, properties: { port: '4001' }, healthCheck: options.healthCheck ?? null },
    environment: { id: 'env-1', name: 'staging' },
    cancelGraceMs: options.cancelGraceMs ?? 2_000,
    logCapBytes: options.logCapBytes ?? 1024 * 1024,
  };
}

function run(input: AgentTaskInput, env = new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, heartbeatTimeoutMs: 10_000 })) {
  const heartbeats: number[] = [];
  env.on('heartbeat', () => heartbeats.push(Date.now()));
  const result: Promise<AgentTaskResult> = env.run(activities.deployTarget, input);
  return { env, heartbeats, result };
}

const workDir = (target = 'web-1') => statePaths(stateDir, AGENT_NAME).workDir(target);
const url = (target: string) => `${api.url}/health/${target}`;
const check = (over: Partial<HealthCheck>): HealthCheck => ({ url: null, command: null, retries: 0, intervalSeconds: 0, timeoutSeconds: 5, ...over });

test('claims first, runs each hook once with its output shipped while it runs, uploads artifacts, checks health, remembers the deploy', async () => {
  api.health.set('web-1', { status: 200, body: { status: 'ok', releaseId: 'rel-14', version: '1.4.0' } });
  const input = task({
    hooks: [
      ['web', 'echo "web $TOLLGATE_COMPONENT_VERSION on port $TOLLGATE_PROP_PORT for $TOLLGATE_ACTION"; printf report > "$TOLLGATE_ARTIFACTS_DIR/report.txt"; echo x >> "$TOLLGATE_WORK_DIR/web.runs"; sleep 1.5'],
      ['worker', null],
      ['api', 'echo "api done in $(pwd)"; echo x >> "$TOLLGATE_WORK_DIR/api.runs"'],
    ],
    healthCheck: check({ url: url('web-1') }),
  });
  const { result, heartbeats } = run(input);
  const outcome = await result;

  expect(outcome).toMatchObject({ outcome: 'succeeded', exitCode: 0, healthChecks: 1, error: null, alreadyClaimed: false });
  expect(new Date(outcome.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(outcome.startedAt).getTime());
  // The claim names the attempt and came before any hook output.
  const [claim] = api.of('claim');
  expect(claim.path).toBe(`/api/v1/agents/${agentId}/tasks/${input.taskId}/claim`);
  expect(claim.body).toEqual({ jobId: input.jobId, targetId: 't1', phase: 'deploy', attempt: 1 });
  expect(claim.auth).toBe(`Bearer ${api.agents.get(agentId)!.credential}`);
  const firstHookChunk = api.chunks.find((c) => c.data.includes('running hook'))!;
  expect(claim.at).toBeLessThanOrEqual(firstHookChunk.at);

  const log = api.logText(input.taskId);
  expect(log).toContain('[tollgate] running hook for component web (1/2)');
  expect(log).toContain('web 1.4.0 on port 4001 for deploy');
  expect(log).toContain('[tollgate] running hook for component api (2/2)');
  expect(log).toContain(`api done in ${workDir()}`);
  expect(log).toMatch(/\[tollgate\] health check 1\/1: GET .*\/health\/web-1 answered 200/);
  expect(log).not.toContain('component worker');
  // The web hook's line reached the API while the hook still slept, not only at the end.
  const webChunk = api.chunks.find((c) => c.data.includes('web 1.4.0'))!;
  const apiChunk = api.chunks.find((c) => c.data.includes('api done'))!;
  expect(apiChunk.at - webChunk.at).toBeGreaterThanOrEqual(900);
  // Chunks line up: each starts where the stored log ended.
  let expected = 0;
  for (const chunk of api.chunks.filter((c) => c.taskId === input.taskId)) {
    expect(chunk.offset).toBe(expected);
    expected += chunk.data.length;
  }

  expect(readFileSync(path.join(workDir(), 'web.runs'), 'utf8')).toBe('x\n');
  expect(readFileSync(path.join(workDir(), 'api.runs'), 'utf8')).toBe('x\n');
  const [artifact] = api.artifacts.get(input.taskId)!;
  expect(artifact.name).toBe('report.txt');
  expect(artifact.bytes.toString()).toBe('report');
  const upload = api.of('artifact')[0];
  expect(upload.contentType).toBe('application/octet-stream');
  expect(log).toContain(`[tollgate] artifact report.txt stored (6 bytes, sha256 ${artifact.sha256})`);
  // The per-task artifacts dir is gone afterwards.
  expect(readdirSync(statePaths(stateDir, AGENT_NAME).artifactsRoot)).toEqual([]);

  expect(heartbeats.length).toBeGreaterThanOrEqual(2);
  expect(records.get('t1')).toMatchObject({ name: 'web-1', healthCheck: input.target.healthCheck, lastDeploy: { releaseId: 'rel-14', version: '1.4.0', jobId: input.jobId, taskId: input.taskId } });
  // Kept on disk for the next start, readable by the agent only.
  const file = statePaths(stateDir, AGENT_NAME).targets;
  expect(new TargetRecords(file).get('t1')?.lastDeploy?.releaseId).toBe('rel-14');
});

test('a failing hook is the outcome HOOK_FAILED; later hooks and the health check do not run, artifacts are still kept', async () => {
  api.health.set('web-1', { status: 200, body: {} });
  const input = task({
    hooks: [
      ['web', 'echo "partial" > "$TOLLGATE_ARTIFACTS_DIR/partial.log"; echo boom >&2; exit 3'],
      ['api', 'touch "$TOLLGATE_WORK_DIR/api.ran"'],
    ],
    healthCheck: check({ url: url('web-1') }),
  });
  const outcome = await run(input).result;
  expect(outcome).toMatchObject({ outcome: 'failed', exitCode: 3, healthChecks: 0, error: { code: 'HOOK_FAILED', message: 'hook for web exited with 3' } });
  expect(existsSync(path.join(workDir(), 'api.ran'))).toBe(false);
  expect(api.of('health')).toHaveLength(0);
  expect(api.logText(input.taskId)).toContain('boom');
  expect(api.artifacts.get(input.taskId)?.map((a) => a.name)).toEqual(['partial.log']);
  expect(records.get('t1')?.lastDeploy).toBeNull();
});

test('a health check is tried 1 + retries times, intervalSeconds apart; all failing is HEALTH_CHECK_FAILED naming the last answer', async () => {
  api.health.set('web-1', { status: 503, body: { status: 'failing', reason: 'told to fail' } });
  const input = task({ healthCheck: check({ url: url('web-1'), retries: 2, intervalSeconds: 0.4 }) });
  const outcome = await run(input).result;
  expect(outcome).toMatchObject({ outcome: 'failed', exitCode: 0, healthChecks: 3, error: { code: 'HEALTH_CHECK_FAILED' } });
  expect(outcome.error!.message).toMatch(/failed 3 time\(s\).*answered 503.*told to fail/);
  const probes = api.of('health');
  expect(probes).toHaveLength(3);
  expect(probes[1].at - probes[0].at).toBeGreaterThanOrEqual(350);
  expect(probes[2].at - probes[1].at).toBeGreaterThanOrEqual(350);
  expect(api.logText(input.taskId)).toContain('[tollgate] health check 3/3: GET');
  expect(records.get('t1')?.lastDeploy).toBeNull();
});

test('a command health check passes on exit 0 and runs in the work dir with the task environment', async () => {
  const input = task({
    hooks: [['web', 'true']],
    healthCheck: check({ command: 'echo "checking $TOLLGATE_TARGET_NAME"; [ -f tries ] || { touch tries; exit 1; }', retries: 3, intervalSeconds: 0.1 }),
  });
  const outcome = await run(input).result;
  expect(outcome).toMatchObject({ outcome: 'succeeded', healthChecks: 2 });
  const log = api.logText(input.taskId);
  expect(log).toContain('checking web-1');
  expect(log).toMatch(/health check 1\/4: `.*` exited with 1/);
  expect(log).toMatch(/health check 2\/4: `.*` exited with 0/);
});

describe('an attempt claimed before (the agent that ran it died)', () => {
  function preclaim(input: AgentTaskInput) {
    api.claims.set(`${input.jobId}|${input.target.id}|${input.phase}|${input.attempt}`, { taskId: input.taskId, agentId: 'earlier', body: {} });
  }
  const hook = 'echo x >> "$TOLLGATE_WORK_DIR/hook.runs"';

  test('is not run again: a healthy target on this release is succeeded with alreadyClaimed', async () => {
    api.health.set('web-1', { status: 200, body: { status: 'ok', releaseId: 'rel-14', version: '1.4.0' } });
    const input = task({ hooks: [['web', hook]], healthCheck: check({ url: url('web-1') }) });
    preclaim(input);
    const outcome = await run(input).result;
    expect(outcome).toMatchObject({ outcome: 'succeeded', alreadyClaimed: true, healthChecks: 1, error: null });
    expect(existsSync(path.join(workDir(), 'hook.runs'))).toBe(false);
    expect(api.logText(input.taskId)).toContain('already claimed');
    expect(records.get('t1')?.lastDeploy?.releaseId).toBe('rel-14');
  });

  test('an unhealthy target, or one that reports another release, is DEPLOY_INTERRUPTED', async () => {
    api.health.set('web-1', { status: 503, body: { status: 'failing' } });
    const first = task({ hooks: [['web', hook]], healthCheck: check({ url: url('web-1'), retries: 1, intervalSeconds: 0.1 }) });
    preclaim(first);
    expect(await run(first).result).toMatchObject({ outcome: 'failed', alreadyClaimed: true, healthChecks: 2, error: { code: 'DEPLOY_INTERRUPTED', message: DEPLOY_INTERRUPTED_MESSAGE } });

    api.health.set('web-1', { status: 200, body: { status: 'ok', releaseId: 'rel-13', version: '1.3.0' } });
    const second = task({ hooks: [['web', hook]], healthCheck: check({ url: url('web-1') }) });
    preclaim(second);
    expect(await run(second).result).toMatchObject({ outcome: 'failed', alreadyClaimed: true, error: { code: 'DEPLOY_INTERRUPTED' } });
    expect(api.logText(second.taskId)).toContain('reports rel-13 1.3.0, not rel-14 1.4.0');

    const third = task({ hooks: [['web', hook]], healthCheck: null });
    preclaim(third);
    expect(await run(third).result).toMatchObject({ outcome: 'failed', alreadyClaimed: true, error: { code: 'DEPLOY_INTERRUPTED' } });
    expect(existsSync(path.join(workDir(), 'hook.runs'))).toBe(false);
  });

  test('a task this agent itself finished before it restarted counts as done even without a health check', async () => {
    const input = task({ hooks: [['web', hook]], healthCheck: null });
    expect(await run(input).result).toMatchObject({ outcome: 'succeeded', alreadyClaimed: false });
    // The same attempt delivered again (Temporal retried it after the agent restarted).
    expect(await run(input).result).toMatchObject({ outcome: 'succeeded', alreadyClaimed: true });
    expect(readFileSync(path.join(workDir(), 'hook.runs'), 'utf8')).toBe('x\n');
  });
});

test('transient API failures are retried: the claim until it lands (the hook runs once), a log gap is resent from the API size', async () => {
  api.fault('claim', 503, 'drop', 429);
  api.fault('artifact', 502);
  api.loseNextLogChunk = true;
  const input = task({ hooks: [['web', 'echo x >> "$TOLLGATE_WORK_DIR/hook.runs"; echo one; sleep 0.8; echo two; echo a > "$TOLLGATE_ARTIFACTS_DIR/a.txt"']] });
  const outcome = await run(input).result;
  expect(outcome).toMatchObject({ outcome: 'succeeded' });
  expect(api.of('claim')).toHaveLength(4);
  expect(readFileSync(path.join(workDir(), 'hook.runs'), 'utf8')).toBe('x\n');
  expect(api.artifacts.get(input.taskId)?.map((a) => a.name)).toEqual(['a.txt']);
  // Nothing lost, nothing twice, despite the chunk the API dropped and the gap that showed it.
  expect(api.logGaps).toBeGreaterThanOrEqual(1);
  const log = api.logText(input.taskId);
  expect(log.match(/^one$/gm)).toHaveLength(1);
  expect(log.match(/^two$/gm)).toHaveLength(1);
  expect(log).toMatch(/^\[tollgate\] deploy of shop 1\.4\.0 to target web-1/);
  expect(log).toMatch(/\[tollgate\] succeeded\n$/);
});

test('a claim the API refuses for good is a failed outcome, and no hook runs', async () => {
  api.fault('claim', 422);
  const input = task({ hooks: [['web', 'echo x >> "$TOLLGATE_WORK_DIR/hook.runs"']] });
  const outcome = await run(input).result;
  expect(outcome).toMatchObject({ outcome: 'failed', error: { code: 'CLAIM_REFUSED' } });
  expect(existsSync(path.join(workDir(), 'hook.runs'))).toBe(false);
});

test('past the cap the log keeps its head and its end: the hook’s last line and the outcome are never lost', async () => {
  api.capBytes = 300;
  const input = task({ hooks: [['web', 'i=0; while [ $i -lt 200 ]; do echo "line $i of a chatty hook"; i=$((i+1)); done; sleep 0.7; echo after-cap']], logCapBytes: 300 });
  const outcome = await run(input).result;
  expect(outcome.outcome).toBe('succeeded');
  expect(api.logs.get(input.taskId)).toMatchObject({ capped: true });
  const kept = api.logText(input.taskId);
  expect(kept).toContain('line 0 of a chatty hook');
  expect(kept).toContain('after-cap');
  expect(kept).toMatch(/\[tollgate\] succeeded\n$/);
  // The offsets the agent sent and the characters the API received never parted (no gap was ever answered).
  expect(api.logGaps).toBe(0);
});

describe('cancellation', () => {
  test('SIGTERM reaches the hook and its children; the last chunk says stoppedBy SIGTERM; the cancellation is rethrown', async () => {
    const input = task({ hooks: [['web', 'sleep 30 & echo $! > "$TOLLGATE_WORK_DIR/child.pid"; echo started; wait']] });
    const { env, result } = run(input);
    await until('the hook to start', () => api.logText(input.taskId).includes('started'), 10_000);
    const child = Number(readFileSync(path.join(workDir(), 'child.pid'), 'utf8'));
    env.cancel();
    const error = await rejection(result);
    expect(error).toBeInstanceOf(CancelledFailure);
    expect((error as CancelledFailure).details).toEqual([{ stoppedBy: 'SIGTERM', exitCode: null }]);
    expect(api.logs.get(input.taskId)?.stoppedBy).toBe('SIGTERM');
    const log = api.logText(input.taskId);
    expect(log).toContain('sending SIGTERM to the hook for component web');
    expect(log).toMatch(/\[tollgate\] hook for component web stopped by SIGTERM\n$/);
    expect(api.chunks.at(-1)).toMatchObject({ stoppedBy: 'SIGTERM' });
    await until('the hook child to be gone', () => !alive(child), 5_000);
  });

  test('a hook that ignores SIGTERM gets SIGKILL after cancelGraceMs', async () => {
    const input = task({ hooks: [['web', 'trap "echo ignoring TERM" TERM; echo started; while :; do sleep 0.1; done']], cancelGraceMs: 800 });
    const { env, result } = run(input);
    await until('the hook to start', () => api.logText(input.taskId).includes('started'), 10_000);
    const cancelledAt = Date.now();
    env.cancel();
    const error = await rejection(result);
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(750);
    expect(error).toBeInstanceOf(CancelledFailure);
    expect((error as CancelledFailure).details).toEqual([{ stoppedBy: 'SIGKILL', exitCode: null }]);
    const log = api.logText(input.taskId);
    expect(log).toContain('ignoring TERM');
    expect(log).toContain('still running after 800 ms: sending SIGKILL');
    expect(api.logs.get(input.taskId)?.stoppedBy).toBe('SIGKILL');
  });

  test('cancelled before any hook ran (while the claim kept failing): no hook runs and no stoppedBy', async () => {
    api.fault('claim', 503, 503, 503, 503, 503, 503, 503, 503);
    const input = task({ hooks: [['web', 'echo x >> "$TOLLGATE_WORK_DIR/hook.runs"']] });
    const { env, result } = run(input);
    await until('a claim to be tried', () => api.of('claim').length > 0, 10_000);
    env.cancel();
    expect(await rejection(result)).toBeInstanceOf(CancelledFailure);
    expect(existsSync(path.join(workDir(), 'hook.runs'))).toBe(false);
    expect(api.logs.get(input.taskId)?.stoppedBy ?? null).toBeNull();
    expect(api.logText(input.taskId)).toContain('task cancelled while claiming the task');
  });
});

test('two tasks for one target run one after the other; other targets do not wait', async () => {
  const hook = 'echo "start $TOLLGATE_JOB_ID" >> "$TOLLGATE_WORK_DIR/seq"; sleep 0.6; echo "end $TOLLGATE_JOB_ID" >> "$TOLLGATE_WORK_DIR/seq"';
  const a = task({ hooks: [['web', hook]] });
  const b = task({ hooks: [['web', hook]] });
  const other = task({ hooks: [['web', hook]], target: 'web-2' });
  const started = Date.now();
  const outcomes = await Promise.all([run(a).result, run(b).result, run(other).result]);
  expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  const lines = readFileSync(path.join(workDir(), 'seq'), 'utf8').trim().split('\n');
  expect(lines).toEqual([`start ${a.jobId}`, `end ${a.jobId}`, `start ${b.jobId}`, `end ${b.jobId}`]);
  expect(readFileSync(path.join(workDir('web-2'), 'seq'), 'utf8').trim().split('\n')).toEqual([`start ${other.jobId}`, `end ${other.jobId}`]);
  expect(Date.now() - started).toBeLessThan(5_000);
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the task to be rejected, but it finished');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

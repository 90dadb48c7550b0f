import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCommand, type StopSignal } from '../../agent/hooks/hook-runner';
import { hookEnvironment, propertyVariable } from '../../agent/hooks/hook-env';
import { until } from '../support/eventually';
import type { AgentTaskInput } from '../../domain/deployments/model';

/** The agent's hook runner with real `sh` processes: output as it comes, exit codes, and stopping a whole group. */

let dir: string;
const leftovers: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hook-runner-'));
});
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Alive and not a zombie (a killed orphan may wait a moment for its reaper). */
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

const readPid = (name: string) => until(`${name} to be written`, () => {
  try {
    const text = readFileSync(path.join(dir, name), 'utf8').trim();
    return text ? Number(text) : undefined;
  } catch {
    return undefined;
  }
});

test('runs the command with sh in its work dir and environment, streaming its output while it runs', async () => {
  const chunks: Array<{ at: number; text: string }> = [];
  const started = Date.now();
  const result = await runCommand({
    command: 'echo "first $GREETING from $(pwd)"; echo "to stderr" >&2; sleep 1; printf "h\\303\\251llo \\342\\234\\223\\n"; exit 7',
    cwd: dir,
    env: { ...process.env, GREETING: 'hello' },
    graceMs: 1_000,
    onOutput: (text) => chunks.push({ at: Date.now() - started, text }),
  });
  expect(result).toMatchObject({ exitCode: 7, signal: null, stoppedBy: null, timedOut: false, spawnError: null });
  const output = chunks.map((c) => c.text).join('');
  expect(output).toContain(`first hello from ${dir}`);
  expect(output).toContain('to stderr');
  // Multi-byte characters arrive whole.
  expect(output).toContain('héllo ✓');
  // The first line came out before the command finished, not all at the end.
  const first = chunks.find((c) => c.text.includes('first'))!;
  const last = chunks.find((c) => c.text.includes('héllo'))!;
  expect(last.at - first.at).toBeGreaterThanOrEqual(800);
});

test('a command that cannot start is reported, not thrown', async () => {
  const result = await runCommand({ command: 'true', cwd: path.join(dir, 'missing'), env: process.env, graceMs: 100 });
  expect(result.exitCode).toBeNull();
  expect(result.spawnError).toMatch(/ENOENT/);
});

test('aborting sends SIGTERM to the whole process group, children included', async () => {
  const controller = new AbortController();
  const sent: StopSignal[] = [];
  const running = runCommand({
    command: 'sleep 30 & echo $! > child.pid; wait',
    cwd: dir,
    env: process.env,
    signal: controller.signal,
    graceMs: 5_000,
    onStopSignal: (sig) => sent.push(sig),
  });
  const child = await readPid('child.pid');
  leftovers.push(child);
  expect(alive(child)).toBe(true);
  const stoppedAt = Date.now();
  controller.abort();
  const result = await running;
  expect(result.stoppedBy).toBe('SIGTERM');
  expect(sent).toEqual(['SIGTERM']);
  expect(Date.now() - stoppedAt).toBeLessThan(4_000);
  await until('the child to be gone', () => !alive(child), 5_000);
});

test('a group that ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const controller = new AbortController();
  const sent: StopSignal[] = [];
  let output = '';
  const running = runCommand({
    // The shell traps SIGTERM and carries on; its child ignores SIGTERM altogether.
    command: 'trap "echo got TERM" TERM; sh -c \'trap "" TERM; exec sleep 30\' & echo $! > defiant.pid; while :; do sleep 0.1; done',
    cwd: dir,
    env: process.env,
    signal: controller.signal,
    graceMs: 700,
    onOutput: (text) => (output += text),
    onStopSignal: (sig) => sent.push(sig),
  });
  const defiant = await readPid('defiant.pid');
  leftovers.push(defiant);
  const stoppedAt = Date.now();
  controller.abort();
  const result = await running;
  const took = Date.now() - stoppedAt;
  expect(result.stoppedBy).toBe('SIGKILL');
  expect(result.signal).toBe('SIGKILL');
  expect(sent).toEqual(['SIGTERM', 'SIGKILL']);
  expect(output).toContain('got TERM');
  expect(took).toBeGreaterThanOrEqual(650);
  expect(took).toBeLessThan(5_000);
  await until('the SIGTERM-proof child to be gone', () => !alive(defiant), 5_000);
});

test('a process started in a session of its own (how a hook leaves a service running) outlives the hook and its stop', async () => {
  const controller = new AbortController();
  const running = runCommand({
    command: 'setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $! > service.pid; sleep 30',
    cwd: dir,
    env: process.env,
    signal: controller.signal,
    graceMs: 1_000,
  });
  const service = await readPid('service.pid');
  leftovers.push(service);
  // $! is known before the child has called setsid; wait until it runs sleep in its own session.
  await until('the service to be in a session of its own', () => /^\d+ \(sleep\) /.test(readFileSync(`/proc/${service}/stat`, 'utf8')), 5_000, 20);
  controller.abort();
  expect((await running).stoppedBy).toBe('SIGTERM');
  expect(alive(service)).toBe(true);
});

test('a finished hook does not wait for a background child that keeps its output pipe open', async () => {
  const started = Date.now();
  const result = await runCommand({ command: 'sleep 20 & echo $! > bg.pid; echo done', cwd: dir, env: process.env, graceMs: 1_000 });
  leftovers.push(await readPid('bg.pid'));
  expect(result.exitCode).toBe(0);
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('a timeout stops the command like a cancellation and says so', async () => {
  const result = await runCommand({ command: 'sleep 30', cwd: dir, env: process.env, graceMs: 500, timeoutMs: 300 });
  expect(result).toMatchObject({ timedOut: true, stoppedBy: 'SIGTERM', exitCode: null, signal: 'SIGTERM' });
});

describe('the hook environment', () => {
  const input: AgentTaskInput = {
    tenantId: 'acme',
    jobId: 'job-1',
    taskId: 'task-1',
    phase: 'rollback',
    attempt: 2,
    release: {
      id: 'rel-1',
      name: 'shop',
      version: '1.4.0',
      components: [
        { componentId: 'c1', name: 'web', version: '1.4.0', digest: 'sha256:aaa', deployHook: 'true' },
        { componentId: 'c2', name: 'worker', version: '2.0.1', digest: null, deployHook: null },
      ],
    },
    target: { id: 't-1', name: 'web-1', labels: { role: 'web' }, properties: { port: '4001', 'http-port': '80', 'fail.version': '2' }, healthCheck: null },
    environment: { id: 'env-1', name: 'staging' },
    cancelGraceMs: 1000,
    logCapBytes: 1000,
  };

  test('names the task, release, component, target and dirs; properties become TOLLGATE_PROP_ variables', () => {
    const env = hookEnvironment(input, input.release.components[0], { workDir: '/w', artifactsDir: '/a' }, { PATH: '/bin', TOLLGATE_PROP_STALE: 'x', TOLLGATE_AGENT_TOKEN: 'secret' });
    expect(env).toMatchObject({
      PATH: '/bin',
      TOLLGATE_ACTION: 'rollback',
      TOLLGATE_JOB_ID: 'job-1',
      TOLLGATE_TASK_ID: 'task-1',
      TOLLGATE_ATTEMPT: '2',
      TOLLGATE_RELEASE_ID: 'rel-1',
      TOLLGATE_RELEASE_NAME: 'shop',
      TOLLGATE_RELEASE_VERSION: '1.4.0',
      TOLLGATE_COMPONENT: 'web',
      TOLLGATE_COMPONENT_VERSION: '1.4.0',
      TOLLGATE_COMPONENT_DIGEST: 'sha256:aaa',
      TOLLGATE_TARGET_ID: 't-1',
      TOLLGATE_TARGET_NAME: 'web-1',
      TOLLGATE_ENVIRONMENT_ID: 'env-1',
      TOLLGATE_ENVIRONMENT_NAME: 'staging',
      TOLLGATE_ARTIFACTS_DIR: '/a',
      TOLLGATE_WORK_DIR: '/w',
      TOLLGATE_PROP_PORT: '4001',
      TOLLGATE_PROP_HTTP_PORT: '80',
      TOLLGATE_PROP_FAIL_VERSION: '2',
    });
    expect(JSON.parse(env.TOLLGATE_DIGESTS!)).toEqual({ web: 'sha256:aaa', worker: null });
    expect(JSON.parse(env.TOLLGATE_TARGET_LABELS!)).toEqual({ role: 'web' });
    expect(JSON.parse(env.TOLLGATE_TARGET_PROPERTIES!)).toEqual(input.target.properties);
    expect(env.TOLLGATE_PROP_STALE).toBeUndefined();
    expect(env.TOLLGATE_AGENT_TOKEN).toBeUndefined();
    expect(propertyVariable('a-b.c d')).toBe('TOLLGATE_PROP_A_B_C_D');
  });

  test('a health-check command gets no component variables', () => {
    const env = hookEnvironment(input, null, { workDir: '/w', artifactsDir: '/a' }, { TOLLGATE_COMPONENT: 'inherited' });
    expect(env.TOLLGATE_COMPONENT).toBeUndefined();
    expect(env.TOLLGATE_RELEASE_VERSION).toBe('1.4.0');
  });
});

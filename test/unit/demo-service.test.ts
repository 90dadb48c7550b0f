import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hookEnvironment } from '../../agent/hooks/hook-env';
import { runCommand } from '../../agent/hooks/hook-runner';
import { startDemoService, type DemoService } from '../../demo/service';
import type { AgentTaskInput } from '../../domain/deployments/model';
import { until } from '../support/eventually';
import { ROOT, spawnTs, waitForOutput } from '../support/processes';

/** The demo service (in process and as a real process) and its deploy hook, run with sh (dash) the way an agent runs it. */

const get = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as any };
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('the demo service', () => {
  let service: DemoService;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'demo-service-'));
  });
  afterEach(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers 500 to the share of ordinary requests it is told to fail, keeps /health as it was, and counts requests by status and version for Prometheus', async () => {
    service = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'rel-2' });
    const base = `http://127.0.0.1:${service.port}`;
    expect((await fetch(`${base}/fail-requests?rate=2`, { method: 'POST' })).status).toBe(400);
    expect(await (await fetch(`${base}/fail-requests?rate=0.25`, { method: 'POST' })).json()).toEqual({ failingRequests: 0.25 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await fetch(`${base}/`)).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(2);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect((await get(`${base}/health`)).status).toBe(200);
    await fetch(`${base}/recover`, { method: 'POST' });
    expect((await fetch(`${base}/`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('http_requests_total{version="2.0.0",status="500"} 2');
    expect(metrics).toContain('http_requests_total{version="2.0.0",status="200"} 7');
    expect(metrics).toContain('# TYPE http_request_duration_seconds histogram');
    expect(metrics).toContain('http_request_duration_seconds_count{version="2.0.0"} 9');
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{version="2.0.0",le="\+Inf"\} 9/);
  });

  test('fails every ordinary request from the start with failRequests 1', async () => {
    service = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'rel-2', failRequests: 1 });
    const base = `http://127.0.0.1:${service.port}`;
    expect((await fetch(`${base}/`)).status).toBe(500);
    expect((await get(`${base}/health`)).status).toBe(200);
  });

  test('reports its version and release, and fails its health check when told to until told to recover', async () => {
    service = await startDemoService({ port: 0, version: '1.2.0', releaseId: 'rel-1' });
    const base = `http://127.0.0.1:${service.port}`;
    expect(await get(`${base}/health`)).toEqual({ status: 200, body: { status: 'ok', version: '1.2.0', releaseId: 'rel-1' } });
    const version = await get(`${base}/version`);
    expect(version.body).toEqual({ version: '1.2.0', releaseId: 'rel-1', pid: process.pid, startedAt: expect.any(String) });
    expect((await fetch(`${base}/fail`, { method: 'POST' })).status).toBe(200);
    expect(await get(`${base}/health`)).toMatchObject({ status: 503, body: { status: 'failing', version: '1.2.0', releaseId: 'rel-1' } });
    await fetch(`${base}/recover`, { method: 'POST' });
    expect((await get(`${base}/health`)).status).toBe(200);
    expect((await get(`${base}/nowhere`)).status).toBe(404);
  });

  test('fails health while DEMO_FAIL_HEALTH is set, or while its fail file exists', async () => {
    const failing = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'rel-2', failHealth: true });
    expect(await get(`http://127.0.0.1:${failing.port}/health`)).toMatchObject({ status: 503, body: { reason: 'DEMO_FAIL_HEALTH=1' } });
    await failing.close();

    const failFile = path.join(dir, 'fail-health');
    service = await startDemoService({ port: 0, version: '2.0.0', releaseId: 'rel-2', failFile });
    const health = `http://127.0.0.1:${service.port}/health`;
    expect((await get(health)).status).toBe(200);
    writeFileSync(failFile, '');
    expect((await get(health)).status).toBe(503);
    rmSync(failFile);
    expect((await get(health)).status).toBe(200);
  });

  test('as a process: PORT, VERSION and RELEASE_ID from the environment, its pid file once listening, and a clean SIGTERM', async () => {
    const port = await freePort();
    const pidFile = path.join(dir, 'service.pid');
    const proc = spawnTs('demo/service.ts', { PORT: String(port), VERSION: '3.0.0', RELEASE_ID: 'rel-3', PID_FILE: pidFile });
    try {
      await waitForOutput(proc, /"msg":"listening"/, 30_000);
      expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(proc.child.pid));
      expect((await get(`http://127.0.0.1:${port}/version`)).body).toMatchObject({ version: '3.0.0', releaseId: 'rel-3', pid: proc.child.pid });
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});

describe('the deploy hook', () => {
  let stateDir: string;
  const started: number[] = [];
  beforeAll(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'demo-hook-'));
  });
  afterAll(() => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // stopped already
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  function input(port: number | null, version: string, extra: Record<string, string> = {}): AgentTaskInput {
    return {
      tenantId: 'acme',
      jobId: `job-${version}`,
      taskId: `task-${version}`,
      phase: 'deploy',
      attempt: 1,
      release: { id: `rel-${version}`, name: 'shop', version, components: [{ componentId: 'c', name: 'web', version, digest: null, deployHook: null }] },
      target: { id: 't1', name: 'web-1', labels: {}, properties: { ...(port ? { port: String(port) } : {}), ...extra }, healthCheck: null },
      environment: { id: 'env-1', name: 'staging' },
      cancelGraceMs: 2_000,
      logCapBytes: 1 << 20,
    };
  }

  /** Runs the hook as an agent would: sh -c, its own process group, the task's environment. */
  async function runHook(task: AgentTaskInput) {
    const workDir = path.join(stateDir, 'work', task.target.name);
    const artifactsDir = path.join(stateDir, 'artifacts', task.taskId);
    mkdirSync(workDir, { recursive: true });
    mkdirSync(artifactsDir, { recursive: true });
    let output = '';
    const result = await runCommand({
      command: `sh ${path.join(ROOT, 'demo', 'deploy-hook.sh')}`,
      cwd: workDir,
      env: hookEnvironment(task, task.release.components[0], { workDir, artifactsDir }),
      graceMs: 2_000,
      onOutput: (text) => (output += text),
    });
    return { result, output, workDir, artifactsDir };
  }

  test('installs the service, then replaces it with the next version; health fails for the fail_version; every run is counted', async () => {
    const port = await freePort();
    const first = await runHook(input(port, '1.0.0'));
    expect(first.result.exitCode).toBe(0);
    expect(first.output).toContain('[deploy-hook] starting the demo service 1.0.0');
    const v1 = await get(`http://127.0.0.1:${port}/version`);
    started.push(v1.body.pid);
    expect(v1.body).toMatchObject({ version: '1.0.0', releaseId: 'rel-1.0.0' });
    // It outlived the hook, in a session of its own.
    expect(alive(v1.body.pid)).toBe(true);
    const report = readFileSync(path.join(first.artifactsDir, 'deploy-report.txt'), 'utf8');
    expect(report).toContain('version: 1.0.0');
    expect(report).toContain(`url: http://127.0.0.1:${port}`);

    const second = await runHook(input(port, '2.0.0', { fail_version: '2.0.0' }));
    expect(second.result.exitCode).toBe(0);
    expect(second.output).toContain(`stopping the previous instance (pid ${v1.body.pid})`);
    const v2 = await get(`http://127.0.0.1:${port}/version`);
    started.push(v2.body.pid);
    expect(v2.body).toMatchObject({ version: '2.0.0', releaseId: 'rel-2.0.0' });
    expect(v2.body.pid).not.toBe(v1.body.pid);
    await until('the old instance to be gone', () => !alive(v1.body.pid), 10_000);
    expect(await get(`http://127.0.0.1:${port}/health`)).toMatchObject({ status: 503, body: { reason: 'DEMO_FAIL_HEALTH=1', version: '2.0.0' } });

    // Back to 1.0.0 (a rollback): healthy again; the fail file makes it fail on demand.
    const rollback = { ...input(port, '1.0.0'), phase: 'rollback' as const, jobId: 'job-rb', attempt: 2 };
    expect((await runHook(rollback)).result.exitCode).toBe(0);
    const v1again = await get(`http://127.0.0.1:${port}/version`);
    started.push(v1again.body.pid);
    expect((await get(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    writeFileSync(path.join(first.workDir, 'fail-health'), '');
    expect((await get(`http://127.0.0.1:${port}/health`)).status).toBe(503);
    rmSync(path.join(first.workDir, 'fail-health'));

    expect(readFileSync(path.join(first.workDir, 'hook-runs.log'), 'utf8').trim().split('\n')).toEqual([
      'job-1.0.0 web-1 1 deploy 1.0.0',
      'job-2.0.0 web-1 1 deploy 2.0.0',
      'job-rb web-1 2 rollback 1.0.0',
    ]);
  });

  test('hook_sleep holds the hook before it touches the service (so a test can kill an agent mid-task)', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    const { result, output } = await runHook(input(port, '5.0.0', { hook_sleep: '1' }));
    expect(result.exitCode).toBe(0);
    expect(output).toContain('sleeping 1s before touching the service');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    started.push((await get(`http://127.0.0.1:${port}/version`)).body.pid);
  });

  test('a target without a port property fails with a message saying so', async () => {
    const { result, output } = await runHook({ ...input(null, '9.0.0'), target: { id: 't9', name: 'no-port', labels: {}, properties: {}, healthCheck: null } });
    expect(result.exitCode).toBe(1);
    expect(output).toContain('target no-port has no "port" property');
  });

  test('a port already taken by something else fails the hook instead of reporting the other service', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { result, output } = await runHook({ ...input(port, '7.0.0'), target: { id: 't7', name: 'busy', labels: {}, properties: { port: String(port) }, healthCheck: null } });
      expect(result.exitCode).toBe(1);
      expect(output).toMatch(/exited before it listened|did not answer/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

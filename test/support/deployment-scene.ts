import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { agentTaskQueue } from '../../domain/deployments/model';
import { freePort } from '../../scripts/stack/processes';
import { startTestApp, type TestApp } from './app';
import { eventually, until } from './eventually';
import { ROOT, spawnTs, type Spawned } from './processes';
import { newDigest, reaches, scene, type Scene } from './promotion-scene';

/**
 * The deployment end-to-end scene: the API and the orchestrator worker in this
 * process (with deployment timeouts short enough to watch them fire), one
 * environment that promotes without approvals, four targets running the demo
 * service on free ports, a component whose hook is demo/deploy-hook.sh,
 * releases 1.0.0 / 2.0.0 / 3.0.0, and two real agent processes owning two
 * targets each. Everything it starts lives under one temporary directory and
 * is stopped by `close()`, demo services included (found by the PIDs they
 * report and the PID files the hook leaves).
 */

export const VERSIONS = ['1.0.0', '2.0.0', '3.0.0'] as const;
export type Version = (typeof VERSIONS)[number];

/**
 * Short enough that a dead agent or an unclaimed task shows within seconds; five
 * heartbeat intervals, so a live agent stalled by a loaded machine (3 s was seen
 * on a CI host running two suites) is not taken for dead.
 */
export const DEPLOY_ENV = {
  DEPLOY_HEARTBEAT_TIMEOUT: '5s',
  DEPLOY_PICKUP_TIMEOUT: '8s',
  AGENT_OFFLINE_AFTER: '5s',
  AGENT_HEARTBEAT_INTERVAL: '1s',
  DEPLOY_CANCEL_GRACE: '2s',
};
export const HEARTBEAT_TIMEOUT_MS = 5_000;

export interface SceneTarget {
  id: string;
  name: string;
  port: number;
  /** Index into `agents` of the agent that owns it. */
  agent: number;
  /** What PUT /targets/{id} needs besides what a test changes. */
  body: Record<string, unknown>;
}

export interface SceneAgent {
  name: string;
  stateDir: string;
  targets: string[];
  proc?: Spawned;
  /** Known once it registered. */
  id?: string;
  startedAt: number;
}

export interface ServiceVersion {
  version: string;
  releaseId: string;
  pid: number;
}

export interface HookRun {
  jobId: string;
  target: string;
  attempt: number;
  action: string;
  version: string;
}

export interface DeploymentScene {
  app: TestApp;
  s: Scene;
  root: string;
  env: any;
  component: any;
  releases: Record<Version, any>;
  targets: SceneTarget[];
  agents: SceneAgent[];
  /** The environment's deployment settings (PUT with the rest of the environment). */
  configure(deployment: Record<string, unknown>): Promise<any>;
  /** Replaces a target's properties (port kept). A job reads them when it starts. */
  setProperties(target: SceneTarget, extra: Record<string, string>): Promise<void>;
  /**
   * Someone replaces a target's service by hand with another version, outside Tollgate: the running one is
   * stopped and a demo service of `version` started on the same port, with the PID file the hook reads.
   */
  handDeploy(target: SceneTarget, version: string): Promise<void>;
  /** The demo service's health fails while `<work dir>/fail-health` exists: a failure an operator can remove under a paused job. */
  failHealth(target: SceneTarget, failing: boolean): void;
  /** A promotion of `version`'s release; resolves once its deployment job exists. */
  promote(version: Version): Promise<{ promotion: any; job: any }>;
  job(id: string): Promise<any>;
  /** Polls the job until `done(job)` holds; the last job seen is in the error. */
  jobUntil(id: string, what: string, done: (job: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Waits for a finished job and checks it ended `status`. */
  finished(id: string, status: string, timeoutMs?: number): Promise<any>;
  tasks(jobId: string): Promise<any[]>;
  promotionEnds(promotionId: string, status: string, timeoutMs?: number): Promise<any>;
  /** What each demo service answers on /version, by target name (null: nothing answers). */
  versions(): Promise<Record<string, ServiceVersion | null>>;
  /** Every line of every hook-runs.log under the scene's directory. */
  hookRuns(): HookRun[];
  ledger(): Promise<Array<{ job_id: string; target_id: string; phase: string; attempt: number; task_id: string; agent_id: string }>>;
  startAgent(index: number): Promise<SceneAgent>;
  killAgent(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** The credential the agent stored in its state dir at registration. */
  agentCredential(index: number): string;
  operate(jobId: string, action: 'retry' | 'skip' | 'rollback' | 'abort', taskId: string, reason?: string): Promise<any>;
  close(): Promise<void>;
}

export async function deploymentScene(): Promise<DeploymentScene> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tollgate-deploy-e2e-'));
  const app = await startTestApp({ env: DEPLOY_ENV });
  const s = await scene(app, app.tenant);
  const agents: SceneAgent[] = [];
  const targets: SceneTarget[] = [];
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    for (const agent of agents) await stopProcess(agent.proc);
    await stopDemoServices(root, targets);
    await app.close();
    if (!process.env.KEEP_DEPLOY_SCENE) rmSync(root, { recursive: true, force: true });
  };

  try {
    const envBody = { name: 'Production', order: 1, requiredApprovals: 0, requireSod: false };
    const env = await s.expect(201, 'POST', '/environments', s.admin, {
      ...envBody,
      deployment: { strategy: { type: 'all-at-once' }, failurePolicy: 'rollback' },
    });
    const hook = `sh ${path.join(ROOT, 'demo', 'deploy-hook.sh')}`;
    const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'demo', repository: 'registry.example.com/demo', deployHook: hook });
    await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: VERSIONS.map((version) => ({ version, digest: newDigest() })) });
    const releases = {} as Record<Version, any>;
    for (const version of VERSIONS) {
      releases[version] = await s.expect(201, 'POST', '/releases', s.admin, {
        name: `demo-${version}`,
        version,
        components: [{ componentId: component.id, version }],
        securityScan: { criticalCount: 0, highCount: 0 },
      });
    }

    for (let i = 0; i < 4; i++) {
      const port = await freePort();
      const body = {
        name: `web-${i + 1}`,
        environmentId: env.id,
        labels: { role: 'web' },
        properties: { port: String(port) },
        healthCheck: { url: `http://127.0.0.1:${port}/health`, retries: 5, intervalSeconds: 1, timeoutSeconds: 2 },
      };
      const target = await s.expect(201, 'POST', '/targets', s.admin, body);
      targets.push({ id: target.id, name: target.name, port, agent: i < 2 ? 0 : 1, body });
    }

    const registrar = await s.token('registrar@example.com', { roles: ['agent-registrar'] });
    for (let a = 0; a < 2; a++) {
      const stateDir = path.join(root, `agent-${a + 1}`);
      mkdirSync(stateDir, { recursive: true });
      agents.push({ name: `web-agent-${a + 1}`, stateDir, targets: targets.filter((t) => t.agent === a).map((t) => t.name), startedAt: 0 });
    }

    const startAgent = async (index: number): Promise<SceneAgent> => {
      const agent = agents[index];
      agent.startedAt = Date.now();
      agent.proc = spawnTs(
        'worker/agent.ts',
        { LOG_LEVEL: process.env.TEST_AGENT_LOG_LEVEL ?? 'info' },
        ['--api', app.url, '--token', registrar, '--name', agent.name, '--environment', env.id, '--labels', 'role=web', '--targets', agent.targets.join(','), '--state-dir', agent.stateDir, '--heartbeat-interval', '1s'],
      );
      const proc = agent.proc;
      try {
        // Registered (it owns its targets) and its worker polls its own queue: only then can a task reach it.
        agent.id = await until(
          `agent ${agent.name} to own ${agent.targets.join(', ')}`,
          async () => {
            if (proc.child.exitCode !== null) throw new Error(`agent ${agent.name} exited (${proc.child.exitCode}):\n${proc.output()}`);
            const owners = await Promise.all(targets.filter((t) => t.agent === index).map(async (t) => (await s.expect(200, 'GET', `/targets/${t.id}`)).agentId as string | null));
            return owners.every((o) => o && o === owners[0]) ? owners[0] : undefined;
          },
          60_000,
        );
        // A restarted agent polls under the same identity: only a poll since this start counts.
        await until(`agent ${agent.name} (pid ${proc.child.pid}) to poll its task queue`, async () => {
          if (proc.child.exitCode !== null) throw new Error(`agent ${agent.name} exited (${proc.child.exitCode}):\n${proc.output()}`);
          return (await activityPollers(app, agentTaskQueue(agent.id!))).some((p) => p.lastAccessAt >= agent.startedAt);
        }, 60_000);
      } catch (err) {
        (err as Error).message += `\nagent output:\n${proc.output().slice(-3000)}`;
        throw err;
      }
      return agent;
    };

    await Promise.all([startAgent(0), startAgent(1)]);

    const job = async (id: string) => s.expect(200, 'GET', `/deployment-jobs/${id}`);
    const jobUntil = async (id: string, what: string, done: (job: any) => boolean, timeoutMs = 60_000) => {
      let last: any;
      try {
        return await until(`job ${id} ${what}`, async () => {
          last = await job(id);
          return done(last) ? last : undefined;
        }, timeoutMs, 200);
      } catch (err) {
        // What each task was doing, and the agents' own account, say where a stuck job stuck.
        const tasks = await s.call('GET', `/deployment-jobs/${id}/tasks?pageSize=100`, s.admin);
        const said = agents.map((a) => `${a.name}:\n${a.proc?.output().slice(-4000) ?? '(not running)'}`).join('\n');
        throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}; tasks: ${tasks.text}\nagent output:\n${said}`);
      }
    };
    const FINISHED = ['deployed', 'failed', 'rolled_back', 'cancelled'];

    return {
      app,
      s,
      root,
      env,
      component,
      releases,
      targets,
      agents,
      async configure(deployment) {
        return s.expect(200, 'PUT', `/environments/${env.id}`, s.admin, { ...envBody, deployment });
      },
      async setProperties(target, extra) {
        const body = { ...target.body, properties: { port: String(target.port), ...extra } };
        // agentId left out: a PUT keeps the agent that owns the target.
        await s.expect(200, 'PUT', `/targets/${target.id}`, s.admin, body);
      },
      async handDeploy(target, version) {
        const running = await serviceVersion(target.port);
        if (running && isDemoService(running.pid)) process.kill(running.pid, 'SIGTERM');
        await until(`the service of ${target.name} to stop`, async () => (await serviceVersion(target.port)) === null, 10_000, 100);
        const workDir = path.join(agents[target.agent].stateDir, 'work', target.name);
        const child = spawn(process.execPath, ['--import', 'tsx', 'demo/service.ts'], {
          cwd: ROOT,
          env: { ...process.env, PORT: String(target.port), VERSION: version, RELEASE_ID: 'by-hand', PID_FILE: path.join(workDir, 'service.pid') },
          detached: true,
          stdio: 'ignore',
        });
        child.unref();
        await until(`${target.name} to run ${version}`, async () => (await serviceVersion(target.port))?.version === version, 30_000, 100);
      },
      failHealth(target, failing) {
        const dir = path.join(agents[target.agent].stateDir, 'work', target.name);
        const file = path.join(dir, 'fail-health');
        if (failing) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(file, 'failing on purpose\n');
        } else {
          rmSync(file, { force: true });
        }
      },
      async promote(version) {
        const promotion = await s.expect(201, 'POST', '/promotions', s.admin, { releaseId: releases[version].id, targetEnvironmentId: env.id, reason: `deploy ${version}` });
        const found = await until(`a deployment job of promotion ${promotion.id}`, async () => {
          const list = await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotion.id}`);
          return list[0];
        }, 30_000, 150);
        return { promotion, job: found };
      },
      job,
      jobUntil,
      async finished(id, status, timeoutMs = 90_000) {
        const done = await jobUntil(id, 'to finish', (j) => FINISHED.includes(j.status), timeoutMs);
        if (done.status !== status) {
          const tasks = await s.call('GET', `/deployment-jobs/${id}/tasks?pageSize=100`);
          throw new Error(`job ${id} ended ${done.status} (${done.statusReason}), expected ${status}; tasks: ${tasks.text}`);
        }
        return done;
      },
      async tasks(jobId) {
        return s.expect(200, 'GET', `/deployment-jobs/${jobId}/tasks?pageSize=100`);
      },
      promotionEnds: (id, status, timeoutMs = 30_000) => reaches(s, id, status, () => true, timeoutMs),
      async versions() {
        const entries = await Promise.all(targets.map(async (t) => [t.name, await serviceVersion(t.port)] as const));
        return Object.fromEntries(entries);
      },
      hookRuns: () => hookRuns(root),
      async ledger() {
        const { rows } = await app.pool.query('SELECT job_id, target_id, phase, attempt, task_id, agent_id FROM deployment_ledger WHERE tenant_id = $1', [app.tenant]);
        return rows;
      },
      startAgent,
      async killAgent(index, signal = 'SIGKILL') {
        const proc = agents[index].proc;
        if (!proc) return;
        proc.child.kill(signal);
        await proc.exited;
        agents[index].proc = undefined;
      },
      agentCredential(index) {
        return findCredential(agents[index].stateDir);
      },
      async operate(jobId, action, taskId, reason = `operator ${action}`) {
        return s.expect(200, 'POST', `/deployment-jobs/${jobId}/${action}`, s.admin, { taskId, reason });
      },
      close,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** The pollers Temporal saw on an activity task queue: an agent's worker only polls for activities. */
async function activityPollers(app: TestApp, taskQueue: string): Promise<Array<{ lastAccessAt: number }>> {
  const described = await app.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (described.pollers ?? []).map((p) => {
    const t = p.lastAccessTime;
    const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
    return { lastAccessAt: ms };
  });
}

export async function serviceVersion(port: number): Promise<ServiceVersion | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(2_000) });
    if (res.status !== 200) return null;
    return (await res.json()) as ServiceVersion;
  } catch {
    return null;
  }
}

/** Every file named `name` under `dir`. */
function findFiles(dir: string, name: string | RegExp, found: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      continue;
    }
    if (stat.isDirectory()) findFiles(full, name, found);
    else if (typeof name === 'string' ? entry === name : name.test(entry)) found.push(full);
  }
  return found;
}

export function hookRuns(root: string): HookRun[] {
  return findFiles(root, 'hook-runs.log').flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [jobId, target, attempt, action, version] = line.trim().split(/\s+/);
        return { jobId, target, attempt: Number(attempt), action, version };
      }),
  );
}

/** The agent keeps its identity somewhere in its state dir; an agent credential has a shape of its own (tga_<id>_<secret>). */
function findCredential(stateDir: string): string {
  for (const file of findFiles(stateDir, /\.json$/)) {
    const found = /tga_[0-9a-f]{32}_[A-Za-z0-9_-]{43,128}/.exec(readFileSync(file, 'utf8'));
    if (found) return found[0];
  }
  throw new Error(`no agent credential found under ${stateDir}`);
}

/** A PID file can outlive its process, and the PID be reused: only a process still running demo/service.ts is ours. */
function isDemoService(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes('demo/service.ts');
  } catch {
    return false;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function stopProcess(proc: Spawned | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
  await proc.exited;
  clearTimeout(timer);
}

/**
 * Every demo service this scene's hooks started: the PID each service reports on
 * /version, and the PID files the hook keeps in the work dirs. SIGTERM, then
 * SIGKILL for any still alive.
 */
async function stopDemoServices(root: string, targets: SceneTarget[]): Promise<void> {
  const pids = new Set<number>();
  for (const t of targets) {
    const v = await serviceVersion(t.port);
    if (v && Number.isInteger(v.pid)) pids.add(v.pid);
  }
  for (const file of findFiles(root, 'service.pid')) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1 && isDemoService(pid)) pids.add(pid);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await eventually(() => {
    if ([...pids].some(alive)) throw new Error('demo services still running');
  }, { timeoutMs: 5_000, intervalMs: 100 }).catch(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
}

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../scripts/stack/processes';
import { until } from './eventually';
import { ROOT, spawnTs, waitForOutput, type Spawned } from './processes';

/**
 * What a rollout needs in front of a running API, with real processes only:
 * an environment, a demo component with a stable and a canary release, stable
 * targets (`track: stable`) and canary targets (label and property `track:
 * canary`), each reached on a free port, and one agent that owns them all and
 * drives a router listening on a free port. The stable release is deployed by
 * an ordinary promotion (the environment's targetLabels pick the stable
 * targets; the agent runs demo/deploy-hook.sh, which starts the demo service);
 * the canary targets run nothing until a rollout deploys the canary release to
 * them itself. The orchestrator worker runs as a process of its own, so a
 * test can kill it by PID.
 *
 * It needs only an API URL, tokens and what the worker process is configured
 * with: the end-to-end scene (rollout-e2e-scene.ts) and the benchmark
 * (bench/rollout) each bring their own stack.
 */

export const STABLE_VERSION = '1.0.0';
export const CANARY_VERSION = '2.0.0';

export interface StageHost {
  apiUrl: string;
  /** A release manager's token of the tenant. */
  admin: string;
  /** A token with the agent-registrar role of the tenant. */
  registrar: string;
  /** The orchestrator worker process's environment (DATABASE_URL, TEMPORAL_*, DATA_DIR, WORKFLOW_BUNDLE, AUTH_JWKS, ...). */
  workerEnv: Record<string, string>;
  /** Where the agent's state, the services' logs and the router's files go. */
  root: string;
}

export interface StageOptions {
  stableTargets?: number;
  canaryTargets?: number;
  /** The router provider the agent drives (default haproxy). */
  router?: string;
  /** Extra environment for the agent process. */
  agentEnv?: Record<string, string>;
}

export interface DemoTarget {
  id: string;
  name: string;
  port: number;
  track: 'stable' | 'canary';
  version: string;
}

export interface RolloutStage {
  env: any;
  component: any;
  stableRelease: any;
  canaryRelease: any;
  targets: DemoTarget[];
  /** The router's address clients use, as a URL (http://127.0.0.1:port). */
  routerUrl: string;
  routerListen: string;
  agent: { id: string; proc: Spawned; stateDir: string };
  /** Starts the agent again (same name, state dir and router address) after `killAgent`. */
  startAgent(): Promise<{ id: string; proc: Spawned; stateDir: string }>;
  /** SIGKILLs the agent: the router it started keeps serving. */
  killAgent(): Promise<void>;
  worker: { proc: Spawned; pid: number };
  /** `data` of an API call that must answer `status`. */
  api<T = any>(method: string, p: string, body?: unknown, status?: number): Promise<T>;
  /** The raw answer of an API call (any status). */
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any; text: string }>;
  /** Starts (or restarts) the orchestrator worker process; resolves once it polls. */
  startWorker(): Promise<Spawned>;
  /** SIGKILLs the orchestrator worker process by its PID and waits for it to be gone. */
  killWorker(): Promise<number>;
  /** Every canary service answers 500 to every ordinary request (POST /fail-requests?rate=1) until `recover`. */
  failCanary(): Promise<void>;
  recoverCanary(): Promise<void>;
  /** The body a create needs besides the steps: name, environment, both releases. */
  rolloutBody(extra?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

const newDigest = () => `sha256:${randomBytes(32).toString('hex')}`;

export async function buildRolloutStage(host: StageHost, options: StageOptions = {}): Promise<RolloutStage> {
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };

  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${host.apiUrl}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${host.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, text };
  };
  const api = async (method: string, p: string, body?: unknown, status = 200) => {
    const res = await call(method, p, body);
    if (res.status !== status) throw new Error(`${method} ${p}: expected ${status}, got ${res.status}: ${res.text}`);
    return res.body?.success === true ? res.body.data : res.body;
  };

  let worker: { proc: Spawned; pid: number } | undefined;
  const startWorker = async () => {
    const metricsPort = await freePort();
    const proc = spawnTs('worker/orchestrator.ts', { ...host.workerEnv, WORKER_METRICS_PORT: String(metricsPort), LOG_LEVEL: 'info' });
    try {
      await waitForOutput(proc, /orchestrator worker running/, 180_000);
    } catch (err) {
      proc.child.kill('SIGKILL');
      throw err;
    }
    worker = { proc, pid: proc.child.pid! };
    return proc;
  };
  const stopProc = async (proc: Spawned | undefined) => {
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
    await proc.exited;
    clearTimeout(timer);
  };

  try {
    await startWorker();
    stops.push(() => stopProc(worker?.proc));

    const env = await api('POST', '/environments', {
      name: 'Production',
      order: 1,
      requiredApprovals: 0,
      requireSod: false,
      deployment: { strategy: { type: 'all-at-once' }, failurePolicy: 'rollback', targetLabels: { track: 'stable' } },
    }, 201);
    const hook = `sh ${path.join(ROOT, 'demo', 'deploy-hook.sh')}`;
    const component = await api('POST', '/components', { name: 'demo', repository: 'registry.example.com/demo', deployHook: hook }, 201);
    await api('POST', `/components/${component.id}/sync-versions`, { versions: [STABLE_VERSION, CANARY_VERSION].map((version) => ({ version, digest: newDigest() })) });
    const release = (version: string) =>
      api('POST', '/releases', { name: `demo-${version}`, version, components: [{ componentId: component.id, version }], securityScan: { criticalCount: 0, highCount: 0 } }, 201);
    const stableRelease = await release(STABLE_VERSION);
    const canaryRelease = await release(CANARY_VERSION);

    const targets: DemoTarget[] = [];
    const plan = [
      ...Array.from({ length: options.stableTargets ?? 2 }, (_, i) => ({ track: 'stable' as const, name: `web-stable-${i + 1}` })),
      ...Array.from({ length: options.canaryTargets ?? 1 }, (_, i) => ({ track: 'canary' as const, name: `web-canary-${i + 1}` })),
    ];
    for (const { track, name } of plan) {
      const port = await freePort();
      const labels: Record<string, string> = { role: 'web', track };
      const properties: Record<string, string> = { host: '127.0.0.1', port: String(port), ...(track === 'canary' ? { track } : {}) };
      const target = await api('POST', '/targets', { name, environmentId: env.id, labels, properties }, 201);
      const version = track === 'canary' ? CANARY_VERSION : STABLE_VERSION;
      targets.push({ id: target.id, name, port, track, version });
    }

    const stateDir = path.join(host.root, 'agent');
    mkdirSync(stateDir, { recursive: true });
    // Whatever outlives the agent: the demo services the hook started (setsid) and a router a killed agent left.
    stops.push(async () => stopByPidFiles(stateDir));
    let agent!: { id: string; proc: Spawned; stateDir: string };
    // The same name and state dir each time: a restarted agent comes back on its saved credential and adopts its router.
    const startAgent = async () => {
      // It logs at info: its "agent running" line says its work channel is open.
      const proc = spawnTs('worker/agent.ts', { ...options.agentEnv, LOG_LEVEL: 'info', TOLLGATE_AGENT_TOKEN: host.registrar }, [
        '--api', host.apiUrl, '--name', 'router-agent', '--environment', env.id,
        '--targets', targets.map((t) => t.name).join(','), '--state-dir', stateDir, '--heartbeat-interval', '1s',
        '--router', options.router ?? 'haproxy', '--router-listen', routerListen,
      ]);
      try {
        const id = await until(
          'the router agent to own every target',
          async () => {
            if (proc.child.exitCode !== null) throw new Error(`the agent exited (${proc.child.exitCode})`);
            const owners = await Promise.all(targets.map(async (t) => (await api('GET', `/targets/${t.id}`)).agentId as string | null));
            return owners.every((o) => o && o === owners[0]) ? owners[0] : undefined;
          },
          90_000,
        );
        await until('the agent to open its work channel', () => /agent running/.test(proc.output()) || undefined, 60_000, 100);
        agent = { id, proc, stateDir };
        return agent;
      } catch (err) {
        (err as Error).message += `\nagent output:\n${proc.output().slice(-4000)}`;
        proc.child.kill('SIGKILL');
        throw err;
      }
    };
    const routerPort = await freePort();
    const routerListen = `127.0.0.1:${routerPort}`;
    await startAgent();
    stops.push(() => stopProc(agent.proc));
    const agentProc = agent.proc;

    // The stable release, deployed by the agent to the stable targets (the environment's targetLabels) through an ordinary promotion.
    const promotion = await api('POST', '/promotions', { releaseId: stableRelease.id, targetEnvironmentId: env.id, reason: 'the stable release, before the rollout' }, 201);
    let seen: any;
    try {
      await until('the stable release to be deployed', async () => {
        seen = await api('GET', `/promotions/${promotion.id}`);
        if (['failed', 'rolled_back', 'cancelled', 'rejected'].includes(seen.status)) throw new Error(`the stable release's promotion ended ${seen.status}: ${seen.statusReason}`);
        return seen.status === 'deployed';
      }, 120_000, 250);
    } catch (err) {
      (err as Error).message += `; last seen ${JSON.stringify({ status: seen?.status, statusReason: seen?.statusReason })}\nagent output:\n${agentProc.output().slice(-4000)}`;
      throw err;
    }
    for (const t of targets.filter((x) => x.track === 'stable')) {
      await until(`${t.name} to run ${STABLE_VERSION}`, async () => (await versionOn(t.port)) === STABLE_VERSION, 30_000, 100);
    }

    const canaries = () => targets.filter((t) => t.track === 'canary');
    const tell = async (what: 'fail-requests?rate=1' | 'recover') => {
      await Promise.all(canaries().map(async (t) => {
        // Before a rollout has deployed its canary nothing listens there: nothing to recover.
        const res = await fetch(`http://127.0.0.1:${t.port}/${what}`, { method: 'POST' }).catch((err) => {
          if (what === 'recover' && (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return null;
          throw err;
        });
        if (res === null) return;
        if (res.status !== 200) throw new Error(`POST /${what} on ${t.name}: ${res.status}`);
      }));
    };

    return {
      env,
      component,
      stableRelease,
      canaryRelease,
      targets,
      routerUrl: `http://${routerListen}`,
      routerListen,
      get agent() {
        return agent;
      },
      startAgent,
      async killAgent() {
        const proc = agent.proc;
        proc.child.kill('SIGKILL');
        await proc.exited;
      },
      get worker() {
        return worker!;
      },
      api,
      call,
      startWorker,
      async killWorker() {
        const w = worker!;
        process.kill(w.pid, 'SIGKILL');
        await w.proc.exited;
        return w.pid;
      },
      failCanary: () => tell('fail-requests?rate=1'),
      recoverCanary: () => tell('recover'),
      rolloutBody(extra = {}) {
        return { name: 'demo 2.0 canary', environmentId: env.id, stableReleaseId: stableRelease.id, canaryReleaseId: canaryRelease.id, ...extra };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function versionOn(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(2_000) });
    return res.status === 200 ? ((await res.json()) as { version: string }).version : null;
  } catch {
    return null;
  }
}

function pidFiles(dir: string, found: string[] = []): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry);
    try {
      if (statSync(full).isDirectory()) pidFiles(full, found);
      else if (entry === 'service.pid' || entry === 'haproxy.pid') found.push(full);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** SIGTERM (then SIGKILL) to every demo service or haproxy whose PID file is under `dir`: a reused PID running something else is left alone. */
async function stopByPidFiles(dir: string): Promise<void> {
  const ours = (pid: number) => {
    try {
      return /demo\/service\.ts|haproxy/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      return false;
    }
  };
  const pids = pidFiles(dir)
    .map((file) => Number(readFileSync(file, 'utf8').trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 1 && ours(pid));
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const gone = await until('the scene\'s services to stop', () => pids.every((pid) => !ours(pid)), 5_000, 100).catch(() => false);
  if (!gone) for (const pid of pids) if (ours(pid)) process.kill(pid, 'SIGKILL');
}

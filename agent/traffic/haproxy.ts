import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Mutex } from 'async-mutex';
import type { AgentRouter, RouterCounters, RouterStats, TrafficSpec, TrafficState } from '../../domain/traffic';
import { readJsonFile, writeJsonFile } from '../runtime/state-files';
import { CANARY_BACKEND, parseConfigHeader, renderHaproxyConfig, shapeOf, SPLIT_BACKEND, type HaproxyPaths } from './haproxy-config';
import { specProblem } from './spec-checks';
import { haproxyCommand, parseInfoPid, parseServersState, parseShowStat } from './haproxy-runtime';
import { badTraffic, type TrafficProvider } from './provider';
import { alive, readPid, spawnDetached, stopProcess, tail, until, writeAtomically, type ManagedRouterOptions } from './managed-process';
import { canaryPercent } from './weights';

/**
 * The agent's own HAProxy (managed mode). HAProxy is the router Tollgate picks because a weight change goes
 * through its runtime API on the admin socket and takes effect on the next request without a reload, and the same
 * socket reads the weights (`show servers state`) and per-server request, 5xx and response-time counters
 * (`show stat`) back. Only a change of the server set or of the header/cookie match rewrites the config, which is
 * checked with `haproxy -c` and loaded by the master process (`-W`) on SIGUSR2: the master stays, a new worker
 * takes the listening sockets over from the old one (`expose-fd listeners`) and the old one finishes its
 * connections, so no request is refused during a reload.
 *
 * HAProxy runs detached from the agent, so an agent that crashes leaves traffic flowing and the next one adopts
 * it; an agent that stops (SIGTERM) stops it, and the next one starts it again from the last applied spec, kept
 * in `spec.json` beside the config.
 */
export type HaproxyOptions = ManagedRouterOptions;

const START_DEADLINE_MS = 10_000;
const RELOAD_DEADLINE_MS = 10_000;

export class HaproxyProvider implements TrafficProvider {
  readonly router: AgentRouter;
  private readonly mutex = new Mutex();
  private readonly paths: HaproxyPaths & { config: string; spec: string; logFile: string };

  constructor(private readonly options: HaproxyOptions) {
    this.router = { provider: 'haproxy', listen: options.listen };
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.paths = {
      config: path.join(options.dir, 'haproxy.cfg'),
      spec: path.join(options.dir, 'spec.json'),
      pidFile: path.join(options.dir, 'haproxy.pid'),
      logFile: path.join(options.dir, 'haproxy.log'),
      socket: socketPath(options.dir),
    };
  }

  /** Adopts the HAProxy a previous agent process left running, or starts one with the last applied spec. */
  async open(): Promise<void> {
    await this.mutex.runExclusive(async () => {
      if (await this.serving()) {
        this.options.log.info({ pid: this.masterPid(), listen: this.options.listen }, 'router: adopted the running haproxy');
        return;
      }
      const spec = readJsonFile<TrafficSpec>(this.paths.spec);
      if (!spec) return;
      this.writeChecked(renderHaproxyConfig(spec, this.options.listen, this.paths).text);
      await this.start();
      this.options.log.info({ pid: this.masterPid(), routeId: spec.routeId, canaryWeight: spec.canaryWeight }, 'router: started haproxy with the last applied traffic');
    });
  }

  async apply(spec: TrafficSpec): Promise<TrafficState> {
    const problem = specProblem(spec);
    if (problem) throw badTraffic(problem);
    return this.mutex.runExclusive(async () => {
      const rendered = renderHaproxyConfig(spec, this.options.listen, this.paths);
      const running = await this.serving();
      const loaded = running && existsSync(this.paths.config) ? readFileSync(this.paths.config, 'utf8') : null;
      if (loaded !== null && shapeOf(loaded) === rendered.shape) {
        // Same servers, same match: only weights change, through the runtime API, on the next request.
        // Servers that gain weight first: round-robin then keeps the new split from the next request on, where the
        // other order lets a server that loses weight first keep its old turn ahead of the rest for a while.
        const now = new Map(parseServersState(await haproxyCommand(this.paths.socket, `show servers state ${SPLIT_BACKEND}`)).map((w) => [w.server, w.weight]));
        const gainsFirst = [...rendered.servers].sort((a, b) => b.weight - (now.get(b.id) ?? 0) - (a.weight - (now.get(a.id) ?? 0)));
        const commands = gainsFirst.map((s) => `set weight ${SPLIT_BACKEND}/${s.id} ${s.weight}`);
        const answer = await haproxyCommand(this.paths.socket, commands.join(';'));
        if (answer.trim() !== '') throw new Error(`haproxy refused a weight change: ${answer.trim()}`);
        // The config keeps the weights too, so a reload or a restart serves the same split.
        writeAtomically(this.paths.config, rendered.text);
      } else {
        this.writeChecked(rendered.text);
        if (running) await this.reload();
        else await this.start();
      }
      writeJsonFile(this.paths.spec, spec);
      return this.readNow(spec.routeId);
    });
  }

  read(routeId: string): Promise<TrafficState> {
    return this.mutex.runExclusive(() => this.readNow(routeId));
  }

  async stats(routeId: string): Promise<RouterStats> {
    const zero = (): RouterCounters => ({ requests: 0, errors5xx: 0, meanResponseMs: null });
    const result: RouterStats = { routeId, stable: zero(), canary: zero(), at: new Date().toISOString() };
    if (!(await this.serving())) return result;
    const rows = parseShowStat(await haproxyCommand(this.paths.socket, 'show stat'));
    const timeWeighted = { stable: 0, canary: 0 };
    for (const row of rows) {
      const variant = row.server.startsWith('canary-') ? 'canary' : row.server.startsWith('stable-') ? 'stable' : null;
      if (!variant) continue;
      result[variant].requests += row.requests;
      result[variant].errors5xx += row.errors5xx;
      timeWeighted[variant] += row.rtimeMs * row.requests;
    }
    for (const v of ['stable', 'canary'] as const) {
      if (result[v].requests > 0) result[v].meanResponseMs = timeWeighted[v] / result[v].requests;
    }
    return result;
  }

  /** Stops HAProxy: soft stop (SIGUSR1: running requests finish), then SIGTERM if it lingers. */
  async close(): Promise<void> {
    await this.mutex.runExclusive(async () => {
      const pid = this.masterPid();
      if (await stopProcess(pid, 'SIGUSR1')) this.options.log.info({ pid }, 'router: haproxy stopped');
    });
  }

  /** The worker serving now (changes on a reload, not on a weight change). */
  async workerPid(): Promise<number | null> {
    return parseInfoPid(await haproxyCommand(this.paths.socket, 'show info'));
  }

  masterPid(): number | null {
    return readPid(this.paths.pidFile);
  }

  private async readNow(routeId: string): Promise<TrafficState> {
    const readAt = new Date().toISOString();
    if (!(await this.serving())) return { provider: 'haproxy', routeId, canaryWeight: 0, stableWeight: 0, match: null, servers: [], readAt };
    const header = parseConfigHeader(readFileSync(this.paths.config, 'utf8'));
    const weights = parseServersState(await haproxyCommand(this.paths.socket, `show servers state ${SPLIT_BACKEND}`));
    const stats = parseShowStat(await haproxyCommand(this.paths.socket, 'show stat'));
    const hasCanaryBackend = stats.some((s) => s.backend === CANARY_BACKEND);
    const servers = weights.map((w) => {
      const variant = w.server.startsWith('canary-') ? ('canary' as const) : ('stable' as const);
      const status = stats.find((s) => s.backend === SPLIT_BACKEND && s.server === w.server)?.status ?? '';
      const name = header?.servers.find((s) => s.id === w.server)?.name ?? w.server;
      return { name, variant, weight: w.weight, state: status.toLowerCase() || (w.opState === 2 ? 'up' : 'down') };
    });
    const total = (v: 'stable' | 'canary') => servers.filter((s) => s.variant === v).reduce((sum, s) => sum + s.weight, 0);
    const canary = canaryPercent(total('stable'), total('canary'));
    const anyWeight = total('stable') + total('canary') > 0;
    return {
      provider: 'haproxy',
      routeId: header?.routeId ?? routeId,
      canaryWeight: canary,
      stableWeight: anyWeight ? 100 - canary : 0,
      // The match lives in the config HAProxy loaded; it is in force only if the canary-only backend is running.
      match: hasCanaryBackend ? (header?.match ?? null) : null,
      servers,
      readAt,
    };
  }

  /** Writes the config only once `haproxy -c` accepts it; a refused one leaves the running config alone. */
  private writeChecked(text: string): void {
    const candidate = `${this.paths.config}.new`;
    writeFileSync(candidate, text, { mode: 0o600 });
    const check = spawnSync(this.options.bin, ['-c', '-q', '-f', candidate], { encoding: 'utf8' });
    if (check.error) throw new Error(`cannot run ${this.options.bin}: ${check.error.message}`);
    if (check.status !== 0) {
      rmSync(candidate, { force: true });
      throw badTraffic(`haproxy refused the route's config: ${(check.stderr || check.stdout).trim().slice(0, 2_000)}`);
    }
    renameSync(candidate, this.paths.config);
  }

  private async start(): Promise<void> {
    rmSync(this.paths.pidFile, { force: true });
    const exited = spawnDetached(this.options.bin, ['-W', '-db', '-f', this.paths.config, '-p', this.paths.pidFile], this.paths.logFile);
    const up = await until(async () => exited() !== null || (await this.serving()), START_DEADLINE_MS);
    if (exited() !== null || !up) throw new Error(`haproxy did not start (${exited() ?? 'no answer on its admin socket'}): ${tail(this.paths.logFile)}`);
  }

  /** Master-worker reload: the new worker is serving once `show info` names another pid. */
  private async reload(): Promise<void> {
    const master = this.masterPid();
    const before = await this.workerPid().catch(() => null);
    if (!master || !alive(master)) return this.start();
    process.kill(master, 'SIGUSR2');
    const done = await until(async () => {
      const now = await this.workerPid().catch(() => null);
      return now !== null && now !== before;
    }, RELOAD_DEADLINE_MS);
    if (!done) throw new Error(`haproxy did not reload within ${RELOAD_DEADLINE_MS} ms: ${tail(this.paths.logFile)}`);
  }

  /** HAProxy answers on our admin socket, and its master is the process our pid file names. */
  private async serving(): Promise<boolean> {
    const pid = this.masterPid();
    if (!pid || !alive(pid)) return false;
    try {
      return parseInfoPid(await haproxyCommand(this.paths.socket, 'show info', 1_000)) !== null;
    } catch {
      return false;
    }
  }
}

/** A Unix socket path must fit in 108 bytes: a deep state dir gets one under the temp dir, named after it. */
function socketPath(dir: string): string {
  const inDir = path.join(dir, 'admin.sock');
  if (Buffer.byteLength(inDir) < 100) return inDir;
  return path.join(os.tmpdir(), `tollgate-haproxy-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.sock`);
}

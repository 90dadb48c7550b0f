import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Mutex } from 'async-mutex';
import type { AgentRouter, RouterCounters, RouterStats, TrafficSpec, TrafficState } from '../../domain/traffic';
import { readJsonFile, writeJsonFile } from '../runtime/state-files';
import { alive, readPid, spawnDetached, stopProcess, tail, until, writeAtomically, type ManagedRouterOptions } from './managed-process';
import { countAccessLog, parseNginxHeader, renderNginxConfig, upstreamWeights, type NginxPaths } from './nginx-config';
import { badTraffic, type TrafficProvider } from './provider';
import { specProblem } from './spec-checks';
import { canaryPercent } from './weights';

/**
 * The agent's own nginx (managed mode), the other router the interface admits. nginx has no runtime API for
 * weights: every change rewrites the config, checks it with `nginx -t` and reloads (SIGHUP to the master: new
 * workers with the new config, the old ones finish their requests). `read` parses the config the master loaded
 * (a new config replaces the file only once `nginx -t` accepted it, and `apply` returns once new workers run), and
 * `stats` counts the access log by upstream address. Like HAProxy it runs detached and survives an agent crash;
 * the last applied spec is kept beside the config.
 */
export type NginxOptions = ManagedRouterOptions;

const DEADLINE_MS = 10_000;
const OLD_WORKERS_GRACE_MS = 5_000;

export class NginxProvider implements TrafficProvider {
  readonly router: AgentRouter;
  private readonly mutex = new Mutex();
  private readonly paths: NginxPaths & { config: string; spec: string; stdout: string };

  constructor(private readonly options: NginxOptions) {
    this.router = { provider: 'nginx', listen: options.listen };
    mkdirSync(options.dir, { recursive: true });
    // Workers run as nobody when the master is root: they must reach their temp paths here.
    chmodSync(options.dir, 0o711);
    this.paths = {
      dir: options.dir,
      config: path.join(options.dir, 'nginx.conf'),
      spec: path.join(options.dir, 'spec.json'),
      pidFile: path.join(options.dir, 'nginx.pid'),
      accessLog: path.join(options.dir, 'access.log'),
      errorLog: path.join(options.dir, 'error.log'),
      stdout: path.join(options.dir, 'nginx.out'),
    };
  }

  async open(): Promise<void> {
    await this.mutex.runExclusive(async () => {
      if (this.serving()) return;
      const spec = readJsonFile<TrafficSpec>(this.paths.spec);
      if (!spec) return;
      this.writeChecked(renderNginxConfig(spec, this.options.listen, this.paths));
      await this.start();
    });
  }

  async apply(spec: TrafficSpec): Promise<TrafficState> {
    const problem = specProblem(spec);
    if (problem) throw badTraffic(problem);
    if (spec.match && 'cookie' in spec.match && spec.match.cookie.name.includes('-')) throw badTraffic('nginx cannot match a cookie whose name holds "-"');
    return this.mutex.runExclusive(async () => {
      this.writeChecked(renderNginxConfig(spec, this.options.listen, this.paths));
      if (this.serving()) await this.reload();
      else await this.start();
      writeJsonFile(this.paths.spec, spec);
      return this.readNow(spec.routeId);
    });
  }

  read(routeId: string): Promise<TrafficState> {
    return this.mutex.runExclusive(async () => this.readNow(routeId));
  }

  async stats(routeId: string): Promise<RouterStats> {
    const zero = (): RouterCounters => ({ requests: 0, errors5xx: 0, meanResponseMs: null });
    const result: RouterStats = { routeId, stable: zero(), canary: zero(), at: new Date().toISOString() };
    const header = existsSync(this.paths.config) ? parseNginxHeader(readFileSync(this.paths.config, 'utf8')) : null;
    if (!header || !existsSync(this.paths.accessLog)) return result;
    const seconds = { stable: 0, canary: 0 };
    for (const [address, counts] of countAccessLog(readFileSync(this.paths.accessLog, 'utf8'))) {
      const variant = header.servers.find((s) => s.address === address)?.variant;
      if (!variant) continue;
      result[variant].requests += counts.requests;
      result[variant].errors5xx += counts.errors5xx;
      seconds[variant] += counts.seconds;
    }
    for (const v of ['stable', 'canary'] as const) if (result[v].requests > 0) result[v].meanResponseMs = (1000 * seconds[v]) / result[v].requests;
    return result;
  }

  async close(): Promise<void> {
    await this.mutex.runExclusive(async () => {
      const pid = this.masterPid();
      if (await stopProcess(pid, 'SIGQUIT')) this.options.log.info({ pid }, 'router: nginx stopped');
    });
  }

  masterPid(): number | null {
    return readPid(this.paths.pidFile);
  }

  private readNow(routeId: string): TrafficState {
    const readAt = new Date().toISOString();
    if (!this.serving()) return { provider: 'nginx', routeId, canaryWeight: 0, stableWeight: 0, match: null, servers: [], readAt };
    const text = readFileSync(this.paths.config, 'utf8');
    const header = parseNginxHeader(text);
    const weights = upstreamWeights(text);
    const servers = (header?.servers ?? []).map((s, i) => ({ name: s.name, variant: s.variant, weight: weights[i]?.weight ?? 0, state: weights[i]?.weight ? 'up' : 'down' }));
    const total = (v: 'stable' | 'canary') => servers.filter((s) => s.variant === v).reduce((sum, s) => sum + s.weight, 0);
    const canary = canaryPercent(total('stable'), total('canary'));
    return {
      provider: 'nginx',
      routeId: header?.routeId ?? routeId,
      canaryWeight: canary,
      stableWeight: total('stable') + total('canary') > 0 ? 100 - canary : 0,
      match: /upstream canary_only/.test(text) ? (header?.match ?? null) : null,
      servers,
      readAt,
    };
  }

  private writeChecked(text: string): void {
    const candidate = `${this.paths.config}.new`;
    writeFileSync(candidate, text, { mode: 0o644 });
    const check = spawnSync(this.options.bin, ['-t', '-q', '-p', this.paths.dir, '-c', candidate], { encoding: 'utf8' });
    if (check.error) throw new Error(`cannot run ${this.options.bin}: ${check.error.message}`);
    if (check.status !== 0) {
      rmSync(candidate, { force: true });
      throw badTraffic(`nginx refused the route's config: ${(check.stderr || check.stdout).trim().slice(0, 2_000)}`);
    }
    writeAtomically(this.paths.config, text);
    rmSync(candidate, { force: true });
  }

  private async start(): Promise<void> {
    rmSync(this.paths.pidFile, { force: true });
    const exited = spawnDetached(this.options.bin, ['-p', this.paths.dir, '-c', this.paths.config], this.paths.stdout);
    const up = await until(() => exited() !== null || (this.serving() && this.workers().length > 0), DEADLINE_MS);
    if (exited() !== null || !up) throw new Error(`nginx did not start (${exited() ?? 'no worker'}): ${tail(this.paths.errorLog)}`);
  }

  /** SIGHUP: the master checks the config again and starts new workers; done once one of them runs. */
  private async reload(): Promise<void> {
    const master = this.masterPid()!;
    const before = new Set(this.workers());
    process.kill(master, 'SIGHUP');
    const done = await until(() => this.workers().some((pid) => !before.has(pid)), DEADLINE_MS);
    if (!done) throw new Error(`nginx did not reload within ${DEADLINE_MS} ms: ${tail(this.paths.errorLog)}`);
    // Old workers accept requests with the old split until they are told to quit: wait for them to go (a
    // long-lived connection may hold one; past the grace, the new split is served to every new connection).
    if (!(await until(() => !this.workers().some((pid) => before.has(pid)), OLD_WORKERS_GRACE_MS))) {
      this.options.log.warn({ grace: OLD_WORKERS_GRACE_MS }, 'router: nginx workers of the previous config still hold connections');
    }
  }

  /** The master's children: its workers. */
  private workers(): number[] {
    const master = this.masterPid();
    if (!master) return [];
    try {
      return readdirSync(`/proc/${master}/task`).flatMap((task) =>
        readFileSync(`/proc/${master}/task/${task}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number),
      );
    } catch {
      return [];
    }
  }

  private serving(): boolean {
    const pid = this.masterPid();
    return pid !== null && alive(pid);
  }
}

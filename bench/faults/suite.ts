import path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/stack/processes';
import { RetryStats, type RetryPolicy } from './client';
import { Driver, type Users } from './driver';
import { seededRandom } from './prng';
import { SERVICES, sleep, startLocalStack, type Service, type StopResult } from './stack';
import { kindOf, REPLICA_TARGETS, startReplicas, type Replicas, type Target } from './replicas';
import { killAndResume, type TrialResult } from './trial';
import { TemporalGateway } from '../../platform/temporal';
import { verify, type Verdict } from './verify';

export interface FaultOptions {
  trials: number;
  seed: number;
  /** Concurrent lifecycles the driver keeps going. */
  lanes: number;
  /** Processes a trial may kill; each trial picks one at random. */
  targets: readonly Target[];
  /** Fixed targets, one per trial, instead of random picks (the short version in `npm test`). */
  plan?: readonly Target[];
  /**
   * Scale-out: 2 runs a second API and a second orchestrator worker beside npm start's (bench/faults/replicas.ts);
   * lifecycles' requests take turns between the two APIs, and `api#2`/`worker#2` become targets.
   */
  replicas?: 1 | 2;
  /** Pause before each kill, drawn from this range, so every kill lands on requests in flight. */
  pauseMs: readonly [number, number];
  /** The goal for the longest time to resume. */
  maxResumeMs: number;
  /** A request (and a probe) is retried with its key for at most this long. */
  requestDeadlineMs: number;
  keep?: boolean;
  /** Extra environment for `npm start`. */
  env?: Record<string, string>;
  say: (msg: string) => void;
}

export const DEFAULTS = {
  trials: 20,
  lanes: 4,
  targets: SERVICES,
  pauseMs: [2_000, 8_000],
  maxResumeMs: 30_000,
  requestDeadlineMs: 120_000,
} as const;

export interface FaultReport {
  seed: number;
  trials: TrialResult[];
  lifecycles: { run: number; completed: number; abandoned: number };
  requests: { acknowledged: number; lost: number; attempts: number; retried: number; notAcknowledged: Record<string, number> };
  duplicates: Verdict['duplicates'] & { total: number };
  maxResumeMs?: number;
  /** Per kind of process (api, worker, postgres, temporal): the fastest and slowest resume. */
  resumeByKind: Record<string, { min: number; max: number; trials: number }>;
  /** Killed workers: the fastest and slowest return to polling (the new process seen on the task queue). */
  workerPolling?: { min: number; max: number; trials: number };
  replicas: number;
  maxResumeGoalMs: number;
  stop: StopResult;
  problems: string[];
  goalMet: boolean;
  seconds: number;
}

/**
 * The fault suite: `npm start` on a throwaway DATA_DIR, a driver running keyed
 * change lifecycles, N `kill -9` trials across the supervised services, then
 * every acknowledged request checked against Postgres and Temporal. The stack
 * is stopped (SIGTERM to `npm start`) however the run ends.
 */
export async function runFaultSuite(options: FaultOptions): Promise<FaultReport> {
  const started = Date.now();
  const { say } = options;
  const rng = seededRandom(options.seed);
  // Drawn up front, so the seed alone fixes the sequence whatever the timing.
  // Scale-out: every target as often as the others (in a seeded order each round), so each replica of each kind is killed.
  const rounds = options.replicas === 2 && !options.plan ? Array.from({ length: Math.ceil(options.trials / options.targets.length) }, () => rng.shuffle([...options.targets])).flat() : undefined;
  const plan = Array.from({ length: options.trials }, (_, i) => ({
    target: options.plan?.[i % options.plan.length] ?? rounds?.[i] ?? rng.pick(options.targets),
    pauseMs: rng.int(options.pauseMs[0], options.pauseMs[1]),
  }));
  say(`seed ${options.seed}: ${plan.map((p) => p.target).join(', ') || 'no trials'}`);

  const stack = await startLocalStack({
    // One tenant and a few users drive everything: the per-user limiter must never be what answers.
    env: { RATE_LIMIT_USER: '100000', RATE_LIMIT_TENANT: '100000', ...options.env },
    keep: options.keep,
    logFile: path.join(PROJECT_ROOT, '.bench', 'faults', `npm-start-seed-${options.seed}.log`),
    say,
  });
  const problems: string[] = [];
  const trials: TrialResult[] = [];
  let replicas: Replicas | undefined;
  // Who polls the orchestrator's task queue (npm start's default one), to time a killed worker's return.
  const temporal = new TemporalGateway({ address: stack.temporalAddress, namespace: 'default' });
  const pollers = async () => (await temporal.pollers('tollgate-orchestrator')).map((p) => p.identity);
  const stats = new RetryStats();
  let verdict: Verdict | undefined;
  let driver: Driver | undefined;
  let failure: unknown;
  try {
    const tenant = `faults-${options.seed}`;
    const runTag = `s${options.seed}`;
    const users: Users = {
      tenant,
      requester: { email: 'requester@faults.example', token: await stack.token('requester@faults.example', tenant, ['engineer']) },
      approvers: await Promise.all(
        ['cab-1@faults.example', 'cab-2@faults.example'].map(async (email) => ({ email, token: await stack.token(email, tenant, ['cab-member']) })),
      ),
    };
    const requestPolicy: RetryPolicy = { deadlineMs: options.requestDeadlineMs, attemptTimeoutMs: 15_000 };
    const probePolicy: RetryPolicy = { deadlineMs: options.requestDeadlineMs, attemptTimeoutMs: 3_000, maxBackoffMs: 250 };
    if (options.replicas === 2) {
      const env = { RATE_LIMIT_USER: '100000', RATE_LIMIT_TENANT: '100000', ...options.env };
      replicas = await startReplicas(stack, env, path.join(PROJECT_ROOT, '.bench', 'faults', `replicas-seed-${options.seed}.log`), say);
    }
    const apis = replicas ? [stack.apiUrl, replicas.apiUrl] : [stack.apiUrl];
    const pidOf = (target: Target) => ((REPLICA_TARGETS as readonly string[]).includes(target) ? replicas?.pidOf(target as (typeof REPLICA_TARGETS)[number]) : stack.pidOf(target as Service));
    driver = new Driver(apis, users, runTag, requestPolicy, stats);
    driver.start(options.lanes);
    await until('the first lifecycle to complete', () => {
      const abandoned = driver!.lifecycles.find((l) => l.outcome === 'abandoned');
      if (abandoned) throw new Error(`a lifecycle failed before any fault: ${abandoned.problem}`);
      return driver!.completed() > 0;
    }, options.requestDeadlineMs);

    for (const [i, { target, pauseMs }] of plan.entries()) {
      await sleep(pauseMs);
      // A killed API is probed through itself (the other replica would answer at once); other kills through either.
      const probeApi = target === 'api' ? stack.apiUrl : target === 'api#2' ? replicas?.apiUrl : undefined;
      const trial = await killAndResume(pidOf, driver, i + 1, target, probePolicy, probeApi, pollers);
      trials.push(trial);
      say(
        `trial ${i + 1}/${plan.length}: kill -9 ${target} (pid ${trial.killedPid})` +
          (trial.newPid ? ` → pid ${trial.newPid} after ${secs(trial.restartMs)}` : '') +
          (trial.pollingMs !== undefined ? `, polling after ${secs(trial.pollingMs)}` : '') +
          (trial.resumeMs !== undefined ? `, serving again after ${secs(trial.resumeMs)}` : '') +
          ` · ${driver.acknowledged()} requests acknowledged so far` +
          (trial.problem ? ` · ${trial.problem}` : ''),
      );
      if (trial.problem) problems.push(`trial ${i + 1} (${target}): ${trial.problem}`);
      else if (trial.resumeMs! > options.maxResumeMs) problems.push(`trial ${i + 1} (${target}): serving again took ${secs(trial.resumeMs)}, over the goal of ${secs(options.maxResumeMs)}`);
      if (trial.killedPid < 0) break;
    }
    say('trials done; letting the lifecycles under way finish…');
    await driver.stop();
    say(`checking ${driver.acknowledged()} acknowledged requests against Postgres and Temporal…`);
    verdict = await verify({ databaseUrl: stack.databaseUrl, temporalAddress: stack.temporalAddress, dataDir: stack.dataDir, tenant, runTag, lifecycles: driver.lifecycles });
    problems.push(...verdict.problems);
    for (const l of driver.lifecycles) if (l.outcome === 'abandoned') problems.push(`abandoned ${l.name}: ${l.problem}`);
  } catch (err) {
    failure = err;
    problems.push(`run failed: ${(err as Error).message}\n${stack.tail(2000)}`);
  }
  if (failure) await driver?.stop().catch(() => undefined);
  if (replicas) {
    say('stopping the second API and worker (SIGTERM)…');
    await replicas.stop().catch((err) => problems.push(`the second replicas did not stop: ${(err as Error).message}`));
  }
  await temporal.close();
  say('stopping npm start (SIGTERM)…');
  const stop = await stack.stop();
  if (!stop.clean) problems.push(`npm start did not stop cleanly on SIGTERM (exit ${stop.exitCode}, open ports: ${stop.openPorts.join(', ') || 'none'}, killed: ${stop.killed.join(', ') || 'none'})`);
  if (failure && !verdict) throw Object.assign(new Error(problems.join('\n')), { cause: failure });

  const lifecycles = driver?.lifecycles.filter((l) => l.outcome !== 'probe') ?? [];
  const resumes = trials.map((t) => t.resumeMs).filter((v): v is number => v !== undefined);
  const maxResumeMs = resumes.length ? Math.max(...resumes) : undefined;
  const resumeByKind: FaultReport['resumeByKind'] = {};
  for (const t of trials) {
    if (t.resumeMs === undefined) continue;
    const k = (resumeByKind[kindOf(t.target)] ??= { min: t.resumeMs, max: t.resumeMs, trials: 0 });
    k.min = Math.min(k.min, t.resumeMs);
    k.max = Math.max(k.max, t.resumeMs);
    k.trials += 1;
  }
  const duplicates = verdict?.duplicates ?? { changes: 0, auditRows: 0, riskAssessments: 0 };
  const total = duplicates.changes + duplicates.auditRows + duplicates.riskAssessments;
  const lost = verdict?.lost ?? 0;
  const allResumed = trials.length === plan.length && trials.every((t) => t.resumeMs !== undefined && t.restartMs !== undefined);
  const polling = trials.map((t) => t.pollingMs).filter((v): v is number => v !== undefined);
  return {
    seed: options.seed,
    workerPolling: polling.length ? { min: Math.min(...polling), max: Math.max(...polling), trials: polling.length } : undefined,
    trials,
    lifecycles: { run: lifecycles.length, completed: lifecycles.filter((l) => l.outcome === 'completed').length, abandoned: lifecycles.filter((l) => l.outcome === 'abandoned').length },
    requests: { acknowledged: verdict?.acknowledged ?? 0, lost, attempts: stats.attempts, retried: stats.retried, notAcknowledged: stats.summary() },
    duplicates: { ...duplicates, total },
    maxResumeMs,
    resumeByKind,
    replicas: options.replicas ?? 1,
    maxResumeGoalMs: options.maxResumeMs,
    stop,
    problems,
    goalMet: lost === 0 && total === 0 && allResumed && (maxResumeMs ?? 0) <= options.maxResumeMs && stop.clean && !failure,
    seconds: (Date.now() - started) / 1000,
  };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

const secs = (ms?: number) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

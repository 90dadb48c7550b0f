import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startApi } from '../../api/server';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { runWithTeardown, startStack, type Teardown } from '../change-lifecycle/stack';
import { percentile } from '../change-lifecycle/stats';
import { buildRolloutStage, CANARY_VERSION, type RolloutStage } from '../../test/support/rollout-stage';
import { checkSplit, closeLoadConnections, sendLoad } from '../../test/support/traffic-load';

/**
 * `npm run bench:rollout -- --changes 20 --rollbacks 20`
 *
 * A throwaway stack (Postgres, Temporal), the API in this process, the
 * orchestrator worker as its own process, stable and canary demo services and
 * one agent driving the router in front of them (the stage the end-to-end
 * tests use). Two figures, each with p50/p99:
 *
 * - weight change: one canary whose steps alternate 10 % and 90 % with an
 *   indefinite pause after each; from the moment an `advance` is answered
 *   (the update accepted) until a burst of requests through the router splits
 *   the new way (within 5 binomial standard deviations, a range that cannot
 *   hold the old weight).
 * - rollback: a canary at 50 %, paused; the canary is told to answer 500s and
 *   the pause advanced into an error-rate analysis measuring every second
 *   under steady load; from the first measurement the rollout records failing
 *   (or, when it records no time, from the moment the canary started failing)
 *   until a burst through the router sees no canary at all.
 *
 * Progress goes to stderr; the table and, last, one JSON line to stdout.
 */
const say = (msg: string) => console.error(`[rollout] ${msg}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options() {
  const { values } = parseArgs({ options: { changes: { type: 'string' }, rollbacks: { type: 'string' }, burst: { type: 'string' }, window: { type: 'string' }, interval: { type: 'string' } } });
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  return {
    changes: int('changes', values.changes, 20, 1, 200),
    rollbacks: int('rollbacks', values.rollbacks, 20, 1, 200),
    burst: int('burst', values.burst, 40, 10, 1000),
    /** The analysis of the rollback trials: a window that the first failure cuts short, measured every `interval`. */
    window: values.window ?? '30s',
    interval: values.interval ?? '1s',
  };
}

async function until<T>(what: string, read: () => Promise<T | undefined | false | null>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await pause(intervalMs);
  }
}

/** Polls the router with bursts until one splits `percent` the canary's way; the time it first did. */
async function servedAt(stage: RolloutStage, percent: number, burst: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await sendLoad(stage.routerUrl, { requests: burst, concurrency: Math.min(burst, 20) });
    const check = checkSplit(result, CANARY_VERSION, percent);
    if (check.ok) return Date.now();
    if (Date.now() > deadline) throw new Error(`the router did not serve ${percent} % within ${timeoutMs} ms: ${check.summary}`);
  }
}

/** The earliest time a failing measurement was taken (a measurement's judgement or a verdict, each with its `at`). */
export function firstFailingAt(health: unknown): number | undefined {
  let first: number | undefined;
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const judged = (o.judgement ?? {}) as Record<string, unknown>;
    const verdict = [o.verdict, judged.verdict].find((v) => typeof v === 'string') as string | undefined;
    const when = typeof o.at === 'string' ? o.at : undefined;
    if (verdict && /fail/i.test(verdict) && when && !Number.isNaN(Date.parse(when))) {
      const t = Date.parse(when);
      first = first === undefined ? t : Math.min(first, t);
    }
    Object.values(o).forEach(visit);
  };
  visit(health);
  return first;
}

async function main(teardown: Teardown): Promise<void> {
  const o = options();
  // The API's agent-work relay polls activities only: the SDK's note that it polls no workflows is expected.
  const print = new DefaultLogger('WARN');
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!/^No (workflows|Nexus services) registered/.test(entry.message)) print.log(entry.level, entry.message, entry.meta);
    }),
    shutdownSignals: [],
  });
  const stack = await startStack(teardown, say);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const env = {
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-rollout-${randomUUID().slice(0, 8)}`,
    DATA_DIR: stack.root,
    AGENT_OFFLINE_AFTER: '3s',
    AGENT_HEARTBEAT_INTERVAL: '1s',
  };
  const config = loadConfig({
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_USER: '1000000',
    RATE_LIMIT_TENANT: '1000000',
  });
  const api = await startApi(config, createLogger('bench', 'silent'));
  teardown.add('API', () => api.close());
  const tenant = `bench-${randomUUID().slice(0, 8)}`;
  const token = (user: string, roles: string[]) =>
    new SignJWT({ user_id: user, tenant_id: tenant, roles, permissions: [], email: user })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject(user)
      .setIssuer(config.AUTH_ISSUER)
      .setAudience(config.AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('6h')
      .sign(privateKey);

  say('starting the orchestrator worker (it bundles the workflows), demo services, and the agent with its router…');
  const stage = await buildRolloutStage(
    {
      apiUrl: api.url,
      admin: await token('release-manager@example.com', ['release-manager']),
      registrar: await token('registrar@example.com', ['agent-registrar']),
      workerEnv: { ...env, AUTH_JWKS: '{"keys":[]}' },
      root: stack.root,
    },
    { stableTargets: 1, canaryTargets: 1 },
  );
  teardown.add('rollout stage', async () => {
    closeLoadConnections();
    await stage.close();
  });
  /** The canary weight the router reads back live (null when its agent did not answer). */
  const traffic = async (id: string) => {
    const reading = await stage.api('GET', `/ab-releases/${id}/traffic`);
    const state = reading?.traffic ?? reading;
    return { canaryWeight: reading?.live === false ? null : (state?.canaryWeight as number | undefined) };
  };
  const status = async (id: string) => { const r = await stage.api('GET', `/ab-releases/${id}`); return (r.state ?? r.status) as string; };
  // Rolled back, and its canary targets scaled down to stable: until then the environment takes no other rollout.
  const ended = async (id: string) => {
    const r = await stage.api('GET', `/ab-releases/${id}`);
    return /aborted|failed/.test(r.state) && (!r.scaleDown || ['deployed', 'failed'].includes(r.scaleDown.status));
  };

  // Weight changes: one rollout, 10 ↔ 90 with a pause after each, advanced `changes` times.
  const weights = Array.from({ length: o.changes + 1 }, (_, i) => (i % 2 === 0 ? 10 : 90));
  const steps = weights.flatMap((w) => [{ setWeight: w }, { pause: {} }]);
  const created = await stage.api('POST', '/ab-releases', stage.rolloutBody({ name: 'bench weight changes', strategy: 'canary', steps }), 201);
  await stage.api('POST', `/ab-releases/${created.id}/start`, { reason: 'bench' });
  await until('the first weight', async () => (await traffic(created.id)).canaryWeight === weights[0], 60_000);
  await servedAt(stage, weights[0], o.burst, 30_000);
  const weightChangeMs: number[] = [];
  const answerMs: number[] = [];
  for (let i = 1; i <= o.changes; i++) {
    // An advance goes past the current step: sent before the rollout holds at its pause, it would skip the weight
    // step just applied instead of the pause.
    await until(`the pause after change ${i - 1}`, async () => {
      const r = await stage.api('GET', `/ab-releases/${created.id}`);
      return r.state === 'paused' && r.stepIndex === 2 * (i - 1) + 1;
    }, 30_000, 50);
    const sent = Date.now();
    const res = await stage.call('POST', `/ab-releases/${created.id}/advance`, { reason: `bench change ${i}` });
    const accepted = Date.now();
    if (res.status !== 200) throw new Error(`advance ${i}: ${res.status} ${res.text}`);
    const served = await servedAt(stage, weights[i], o.burst, 30_000);
    weightChangeMs.push(served - accepted);
    answerMs.push(accepted - sent);
    say(`change ${i}/${o.changes}: ${weights[i - 1]} → ${weights[i]} % served ${served - accepted} ms after the advance was answered (answer took ${accepted - sent} ms)`);
    // The router reads back what it serves before the next change.
    await until(`weight ${weights[i]} read back`, async () => (await traffic(created.id)).canaryWeight === weights[i], 30_000, 50);
  }
  await stage.call('POST', `/ab-releases/${created.id}/rollback`, { reason: 'bench done' });
  await until('the weight bench rollout to end and scale down', () => ended(created.id), 120_000);

  // Rollbacks: a new canary each time, failing at 50 % under an error-rate analysis.
  const rollbackMs: number[] = [];
  const sinceFailingMs: number[] = [];
  const fromMeasurement: boolean[] = [];
  for (let i = 1; i <= o.rollbacks; i++) {
    await stage.recoverCanary();
    const r = await stage.api('POST', '/ab-releases', stage.rolloutBody({
      name: `bench rollback ${i}`,
      strategy: 'canary',
      steps: [{ setWeight: 50 }, { pause: {} }, { analysis: { metric: 'error-rate', max: 0.05, window: o.window, interval: o.interval } }, { setWeight: 100 }],
    }), 201);
    await stage.api('POST', `/ab-releases/${r.id}/start`, { reason: 'bench' });
    await until('50 % read back', async () => (await traffic(r.id)).canaryWeight === 50, 60_000, 50);
    await servedAt(stage, 50, o.burst, 30_000);
    await until('the pause before the analysis', async () => (await status(r.id)) === 'paused', 30_000, 50);
    // The canary breaks under load; the analysis after the pause judges what the router counts.
    await stage.failCanary();
    const failedAt = Date.now();
    const advanced = await stage.call('POST', `/ab-releases/${r.id}/advance`, { reason: 'judge it' });
    if (advanced.status !== 200) throw new Error(`advance of rollback trial ${i}: ${advanced.status} ${advanced.text}`);
    // Load never stops until no canary answers; each burst says whether any canary answered.
    let noCanaryAt: number | undefined;
    const deadline = Date.now() + 120_000;
    while (noCanaryAt === undefined) {
      const burst = await sendLoad(stage.routerUrl, { requests: o.burst, concurrency: Math.min(o.burst, 20) });
      if ((burst.byVersion[CANARY_VERSION] ?? 0) === 0 && burst.failed === 0) noCanaryAt = Date.now();
      else if (Date.now() > deadline) throw new Error(`rollback ${i}: canary still served 120 s after it started failing (${JSON.stringify(burst.byVersion)})`);
    }
    await until(`rollback ${i} to end`, async () => /aborted|failed/.test(await status(r.id)), 60_000);
    const measuredRollout = await stage.api('GET', `/ab-releases/${r.id}`);
    const measured = firstFailingAt([measuredRollout, await stage.api('GET', `/ab-releases/${r.id}/health`)]);
    const from = measured !== undefined && measured >= failedAt - 1000 ? measured : failedAt;
    fromMeasurement.push(from === measured);
    rollbackMs.push(noCanaryAt - from);
    sinceFailingMs.push(noCanaryAt - failedAt);
    await until(`rollback ${i} to scale down`, () => ended(r.id), 120_000);
    say(`rollback ${i}/${o.rollbacks}: 0 % canary ${noCanaryAt - from} ms after the ${from === measured ? 'first failing measurement' : 'canary started failing'} (${noCanaryAt - failedAt} ms after it started failing)`);
  }

  const summary = {
    weightChangeMs: { p50: percentile(weightChangeMs, 50), p99: percentile(weightChangeMs, 99) },
    rollbackMs: { p50: percentile(rollbackMs, 50), p99: percentile(rollbackMs, 99) },
  };
  const measuredFrom = fromMeasurement.every(Boolean) ? 'the first failing measurement' : fromMeasurement.some(Boolean) ? 'the first failing measurement where recorded, else the start of the failures' : 'the moment the canary started failing';
  console.log(`weight change (advance answered → router serves the new split), ${weightChangeMs.length} changes: p50 ${summary.weightChangeMs.p50} ms, p99 ${summary.weightChangeMs.p99} ms (goal ≤ 1000 ms); advance answered in p50 ${percentile(answerMs, 50)} ms`);
  console.log(`rollback (from ${measuredFrom} → 0 % canary through the router), ${rollbackMs.length} rollbacks: p50 ${summary.rollbackMs.p50} ms, p99 ${summary.rollbackMs.p99} ms (goal ≤ 5000 ms); from the canary's first 500 (the analysis measures every ${o.interval}): p50 ${percentile(sinceFailingMs, 50)} ms, p99 ${percentile(sinceFailingMs, 99)} ms`);
  console.log(JSON.stringify(summary));
}

if (require.main === module) runWithTeardown(say, main);

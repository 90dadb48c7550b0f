import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { freePort } from '../../scripts/stack/processes';
import { runWithTeardown, startStack, type Stack, type Teardown } from '../change-lifecycle/stack';
import { RetryStats, sendKeyed } from '../faults/client';
import { interleaved, type LatencySample } from './load';
import { populate } from './populate';
import { mib, rssBytes, startService, type Service } from './services';

/**
 * `npm run bench:scale -- --n 10000 [--concurrency 32] [--baseline 100] [--rate 100] [--seconds 5]`
 *
 * N standard changes open and asleep on their window timers, created through
 * the API. Prints the worker's RSS, the list p99 of a tenant with N changes
 * against the same p99 of a tenant with a small N (measured in turns, so both
 * see the same machine), and how long a timer takes to fire after the worker
 * restarts with all N open. Progress goes to stderr; the summary and one JSON line to stdout.
 * Only 127.0.0.1; every loop is bounded.
 */
const say = (msg: string) => console.error(`[scale] ${msg}`);
const GIB = 2 ** 30;
const LIST_PATH = '/api/v1/changes?pageSize=20';
/** The two list measurements at the end take turns this many times. */
const ROUNDS = 3;

function options() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string' },
      concurrency: { type: 'string' },
      baseline: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
    },
  });
  const int = (name: string, raw: string | undefined, fallback: number, min: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return value;
  };
  const n = int('n', values.n, 10_000, 1);
  const baseline = int('baseline', values.baseline, 100, 1);
  return {
    n,
    baseline,
    concurrency: int('concurrency', values.concurrency, 32, 1),
    rate: int('rate', values.rate, 100, 1),
    seconds: int('seconds', values.seconds, 5, 1),
  };
}

interface TimerResult {
  restartMs: number;
  /** When the window was due, relative to the restarted worker being ready (negative: already due). */
  dueAfterReadyMs: number;
  /** From the later of "due" and "worker ready" until Postgres showed the window opened. */
  firedAfterMs: number;
}

async function main(teardown: Teardown): Promise<void> {
  const o = options();
  const stack = await startStack(teardown, say);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `scale-${randomUUID().slice(0, 8)}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  const token = (tenant: string, user: string, roles: string[]) =>
    new SignJWT({ user_id: user, tenant_id: tenant, roles, permissions: [], email: user })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject(user)
      .setIssuer('tollgate-dev')
      .setAudience('tollgate')
      .setIssuedAt()
      .setExpirationTime('12h')
      .sign(privateKey);
  const common = { DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.temporalAddress, DATA_DIR: stack.root, TEMPORAL_TASK_QUEUE: `scale-${randomUUID().slice(0, 8)}` };

  let worker: Service | undefined;
  teardown.add('worker', async () => worker?.stop());
  const startWorker = async () => {
    const t0 = Date.now();
    worker = await startService(
      'worker',
      'worker/orchestrator.ts',
      { ...common, AUTH_JWKS: '{"keys":[]}', LOG_LEVEL: 'info', WORKER_METRICS_PORT: String(await freePort()) },
      (out) => out.includes('orchestrator worker running'),
      180_000,
    );
    return Date.now() - t0;
  };
  say('starting the worker and the API (as separate processes)…');
  const firstStartMs = await startWorker();
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = await startService(
    'api',
    'api/server.ts',
    { ...common, PORT: String(apiPort), HOST: '127.0.0.1', AUTH_JWKS: jwks, LOG_LEVEL: 'warn', RATE_LIMIT_USER: '1000000', RATE_LIMIT_TENANT: '1000000' },
    async () => (await fetch(`${apiUrl}/api/v1/health`)).status === 200,
    120_000,
  );
  teardown.add('api', () => api.stop());

  // Two tenants: `large` grows to N; `small` keeps the baseline's N and is the control the large one is compared with.
  const tenant = async (name: string) => {
    const id = `${name}-${randomUUID().slice(0, 8)}`;
    return {
      id,
      requester: await token(id, 'scale-requester@example.com', ['engineer']),
      // The list load comes from 20 users, as in the read-path bench.
      reader: { path: LIST_PATH, tokens: await Promise.all(Array.from({ length: 20 }, (_, i) => token(id, `reader-${i}@example.com`, ['viewer']))) },
    };
  };
  const small = await tenant('scale-small');
  const large = await tenant('scale-large');
  let peakRss = 0;
  const sampleRss = () => {
    const rss = worker && rssBytes(worker.pid);
    if (rss && rss > peakRss) peakRss = rss;
    return rss;
  };

  say(`creating ${o.baseline} changes for the baseline…`);
  await populate({ api: apiUrl, token: small.requester, from: 0, to: o.baseline, concurrency: o.concurrency, runTag: small.id });
  say(`list at N=${o.baseline}: ${o.rate} req/s for ${o.seconds} s…`);
  const [before] = await interleaved(apiUrl, [small.reader], o.rate, o.seconds, 1);

  say(`creating ${o.n} changes in another tenant (${o.concurrency} at a time)…`);
  const created = await populate({
    api: apiUrl,
    token: large.requester,
    from: 0,
    to: o.n,
    concurrency: o.concurrency,
    runTag: large.id,
    onProgress: ({ done, seconds }) => {
      const rss = sampleRss();
      const rate = done / seconds;
      say(`  ${done}/${o.n} open · ${rate.toFixed(1)} changes/s · eta ${Math.round((o.n - done) / Math.max(rate, 0.01))} s · worker RSS ${mib(rss)}`);
    },
  });
  const rssAtN = sampleRss();
  const open = await countOpen(stack, large.id);
  say(`${open} workflows open in Temporal; list at N=${o.n} and at N=${o.baseline}, taking turns ${ROUNDS} times…`);
  const [atN, atBaseline] = await interleaved(apiUrl, [large.reader, small.reader], o.rate, o.seconds, ROUNDS);

  say('timer after a worker restart…');
  const timer = await timerAfterRestart(stack, large.id, apiUrl, large.requester, large.id, firstStartMs, async () => {
    const t0 = Date.now();
    await worker!.stop();
    await startWorker();
    return Date.now() - t0;
  });
  const rssAfterRestart = sampleRss();

  const result = {
    n: o.n,
    baselineN: o.baseline,
    openWorkflows: open,
    create: { perSecond: created.perSecond, seconds: created.seconds, retried: created.retried, concurrency: o.concurrency },
    workerRss: { atN: rssAtN, peak: peakRss, afterRestart: rssAfterRestart },
    list: { rate: o.rate, seconds: o.seconds, rounds: ROUNDS, atN, atBaseline, beforeBulk: before, p99Ratio: atN.p99Ms / atBaseline.p99Ms },
    timer,
    goals: { rssUnder1GiB: peakRss < GIB, listP99Within20pct: atN.p99Ms <= atBaseline.p99Ms * 1.2 },
  };
  console.log(summary(result));
  console.log(JSON.stringify(result));
}

/** Workflows of the tenant that Temporal counts as running (visibility may lag: polled until it settles). */
async function countOpen(stack: Stack, tenant: string): Promise<number> {
  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    const client = new Client({ connection });
    let last = -1;
    for (let i = 0; i < 40; i++) {
      const { count } = await client.workflow.count(`TollgateTenant = "${tenant}" AND ExecutionStatus = "Running"`);
      if (count === last) return count;
      last = count;
      await new Promise((r) => setTimeout(r, 500));
    }
    return last;
  } finally {
    await connection.close();
  }
}

/**
 * One more change whose window opens a little after the restarted worker is
 * expected back (twice the first start-up plus 10 s, within 20-60 s); the worker is restarted
 * with all N open, and the clock runs until Postgres shows the window opened.
 */
async function timerAfterRestart(
  stack: Stack,
  tenant: string,
  apiUrl: string,
  token: string,
  runTag: string,
  firstStartMs: number,
  restart: () => Promise<number>,
): Promise<TimerResult> {
  const lead = Math.min(60_000, Math.max(20_000, 2 * firstStartMs + 10_000));
  const start = new Date(Date.now() + lead);
  const body = {
    type: 'standard',
    short_description: 'Scale drill: the timer probe',
    scheduled_start: start.toISOString(),
    scheduled_end: new Date(start.getTime() + 3600_000).toISOString(),
  };
  const policy = { deadlineMs: 120_000, attemptTimeoutMs: 60_000 };
  const stats = new RetryStats();
  const base = `${apiUrl}/prod/api/changes`;
  const created = await sendKeyed(base, { method: 'POST', path: '', token, key: `${runTag}-probe-create`, body }, policy, stats);
  if (created.kind !== 'ack') throw new Error(`timer probe create: ${JSON.stringify(created)}`);
  const id = created.body.id as string;
  const submitted = await sendKeyed(base, { method: 'POST', path: `/${id}/submit`, token, key: `${runTag}-probe-submit` }, policy, stats);
  if (submitted.kind !== 'ack') throw new Error(`timer probe submit: ${JSON.stringify(submitted)}`);

  const restartMs = await restart();
  const readyAt = Date.now();
  const dueAt = start.getTime();
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  try {
    const deadline = Math.max(dueAt, readyAt) + 120_000;
    while (Date.now() < deadline) {
      const { rows } = await db.query(`SELECT body->>'window_opened_at' AS opened FROM changes WHERE tenant_id = $1 AND id = $2`, [tenant, id]);
      if (rows[0]?.opened) return { restartMs, dueAfterReadyMs: dueAt - readyAt, firedAfterMs: Date.now() - Math.max(dueAt, readyAt) };
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the window of ${id} (due ${start.toISOString()}) had not opened 120 s after it was due`);
  } finally {
    await db.end();
  }
}

function summary(r: {
  n: number;
  baselineN: number;
  openWorkflows: number;
  create: { perSecond: number; seconds: number; concurrency: number };
  workerRss: { atN?: number; peak: number; afterRestart?: number };
  list: { rate: number; seconds: number; rounds: number; atN: LatencySample; atBaseline: LatencySample; beforeBulk: LatencySample; p99Ratio: number };
  timer: TimerResult;
  goals: { rssUnder1GiB: boolean; listP99Within20pct: boolean };
}): string {
  const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
  const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
  const ok = (b: boolean) => (b ? 'met' : 'NOT MET');
  const { atN, atBaseline, beforeBulk } = r.list;
  const failures = [atN, atBaseline, beforeBulk].map((l) => l.firstFailure).find(Boolean);
  return [
    `scale bench: N=${r.n} standard changes open and waiting on window timers (${r.openWorkflows} running workflows in Temporal)`,
    `  created at               ${r.create.perSecond.toFixed(1)} changes/s (create + submit, ${r.create.concurrency} at a time; ${s(r.create.seconds * 1000)})`,
    `  worker RSS               ${mib(r.workerRss.atN)} at N, peak ${mib(r.workerRss.peak)}, ${mib(r.workerRss.afterRestart)} after the restart   (goal < 1 GiB: ${ok(r.goals.rssUnder1GiB)})`,
    `  list p99 (pageSize=20)   ${ms(atN.p99Ms)} for the tenant with N=${r.n} vs ${ms(atBaseline.p99Ms)} for one with N=${r.baselineN}, taking turns: ${r.list.p99Ratio.toFixed(2)}x   (goal ≤ 1.20x: ${ok(r.goals.listP99Within20pct)})`,
    `                           p50 ${ms(atN.p50Ms)} vs ${ms(atBaseline.p50Ms)}; before the ${r.n} were created: p99 ${ms(beforeBulk.p99Ms)}, p50 ${ms(beforeBulk.p50Ms)}`,
    `                           ${r.list.rate} req/s from 20 users, ${r.list.rounds} × ${r.list.seconds} s each; errors ${atN.errors + atBaseline.errors + beforeBulk.errors}${failures ? ` (${failures})` : ''}`,
    `  timer after restart      worker back in ${s(r.timer.restartMs)}; window due ${s(r.timer.dueAfterReadyMs)} after that; opened ${s(r.timer.firedAfterMs)} after it was due${r.timer.dueAfterReadyMs < 0 ? ' (timed from the worker being back: it was due earlier)' : ''}`,
  ].join('\n');
}

runWithTeardown(say, main);

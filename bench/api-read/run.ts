import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../scripts/stack/processes';
import { percentile } from '../change-lifecycle/stats';
import { runWithTeardown, startStack, type Teardown } from '../change-lifecycle/stack';
import { Client, fixedRate, saturate, type Target } from './load';
import { summariseProfile } from './profile';
import { bodyBytes, seedChanges } from './seed';
import { benchSigner, startApiProcess, startBareProcess, startWorkerProcess } from './servers';

/**
 * `npm run bench:api-read -- --rows 1000 --rate 500 --seconds 10 [--lull 45]`
 *
 * Authenticated reads against the API in its own process, and the same data
 * work behind bare Hono routes, on one throwaway stack: for a list, a get and
 * health, p50/p99 at a fixed arrival rate (open loop) and the most requests
 * per second with `connections` always in flight, each as a ratio to the bare
 * route; then, after `--lull` seconds with no request at all, a burst of lists
 * at the same rate on each (the first second's p99 separately).
 * `--profile` runs the API under `node --cpu-prof` and prints where its
 * CPU went; `--api-root <dir>` runs the API from another checkout (with its
 * node_modules) on the same stack, to measure before and after a change.
 * Progress goes to stderr; the table and one JSON line to stdout.
 */
const say = (msg: string) => console.error(`[bench] ${msg}`);
const TENANT = 'bench-read';
const KINDS = ['list', 'get', 'health'] as const;
type Kind = (typeof KINDS)[number];

interface Options {
  rows: number;
  rate: number;
  seconds: number;
  saturate: number;
  connections: number;
  users: number;
  only: Kind[];
  profile: boolean;
  apiRoot?: string;
  /** Seconds of silence before the burst after a lull; 0 skips it. */
  lull: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      saturate: { type: 'string' },
      connections: { type: 'string' },
      users: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      'api-root': { type: 'string' },
      lull: { type: 'string' },
    },
  });
  const num = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const only = (values.only ?? KINDS.join(',')).split(',').map((k) => k.trim());
  for (const k of only) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`--only takes ${KINDS.join(',')}; got "${k}"`);
  return {
    // Bounded so a typo cannot make the bench run for hours.
    rows: num('rows', values.rows, 1000, 20, 1_000_000),
    rate: num('rate', values.rate, 500, 1, 20_000),
    seconds: num('seconds', values.seconds, 10, 1, 120),
    saturate: num('saturate', values.saturate, 5, 1, 60),
    connections: num('connections', values.connections, 32, 1, 256),
    users: num('users', values.users, 20, 1, 1000),
    only: only as Kind[],
    profile: Boolean(values.profile),
    apiRoot: values['api-root'] ? path.resolve(values['api-root']) : undefined,
    // Longer than the 30 s after which a pool that closes idle connections would have closed them.
    lull: num('lull', values.lull, 45, 0, 600),
  };
}

interface Measured {
  p50Ms: number;
  p99Ms: number;
  maxPerSecond: number;
  /** The server process's own CPU time per request while saturated: steady even when other work shares the machine. */
  cpuMsPerRequest: number;
  errors: number;
}

/** user + system CPU seconds of a process so far (Linux /proc; clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Row {
  kind: Kind;
  tollgate: Measured;
  bare: Measured;
}

function targets(kind: Kind, url: string, tollgate: boolean, tokens: string[], ids: string[]): Target {
  const headers = (i: number) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
  const pathOf = {
    list: () => (tollgate ? '/api/v1/changes?pageSize=20' : '/list?pageSize=20'),
    get: (i: number) => (tollgate ? `/api/v1/changes/${ids[i % ids.length]}` : `/get/${ids[i % ids.length]}`),
    health: () => (tollgate ? '/api/v1/health' : '/health'),
  }[kind];
  return { url, path: pathOf, headers, expectStatus: 200 };
}

/**
 * One request read in full, so the phase measures what it claims to. Waits up to
 * 30 s for a 200: after the other server's saturated health phase, the Temporal
 * dev server may still be working off its queue.
 */
async function check(client: Client, kind: Kind, target: Target, tollgate: boolean, rows: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let { status, body } = await client.getJson(target.path(0), target.headers(0));
  while (status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    ({ status, body } = await client.getJson(target.path(0), target.headers(0)));
  }
  if (status !== 200) throw new Error(`${kind} (${tollgate ? 'tollgate' : 'bare'}) answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
  if (kind === 'list') {
    const total = tollgate ? body.meta?.pagination?.totalItems : body.total;
    if (body.data?.length !== 20 || total !== rows) throw new Error(`list (${tollgate ? 'tollgate' : 'bare'}): ${body.data?.length} items, total ${total}; expected 20 of ${rows}`);
  }
}

async function measure(o: Options, kind: Kind, server: { url: string; pid: number }, tollgate: boolean, tokens: string[], ids: string[]): Promise<Measured> {
  const name = `${kind} ${tollgate ? 'tollgate' : 'bare'}`;
  const client = new Client(server.url);
  try {
    const target = targets(kind, server.url, tollgate, tokens, ids);
    await check(client, kind, target, tollgate, o.rows);
    // Warm-up: JIT, pool connections, caches.
    await saturate(client, target, 8, 2);
    const fixed = await fixedRate(client, target, o.rate, o.seconds);
    const cpuBefore = cpuSeconds(server.pid);
    const sat = await saturate(client, target, o.connections, o.saturate);
    // Per answer, failures included: a server answering 503s under saturation still spent CPU on each.
    const cpuMsPerRequest = ((cpuSeconds(server.pid) - cpuBefore) * 1000) / (sat.completed + sat.failed);
    const errors = fixed.failed + sat.failed;
    const m = { p50Ms: percentile(fixed.latenciesMs, 50), p99Ms: percentile(fixed.latenciesMs, 99), maxPerSecond: sat.perSecond, cpuMsPerRequest, errors };
    say(`${name}: p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms at ${o.rate}/s; ${Math.round(m.maxPerSecond)}/s saturated, ${m.cpuMsPerRequest.toFixed(2)} ms CPU per request${errors ? `; ${errors} errors, first: ${fixed.firstFailure ?? sat.firstFailure}` : ''}`);
    return m;
  } finally {
    client.close();
  }
}

/** Lists after a lull, as the first users of a quiet morning send them: p50/p99 over the burst and p99 of its first second. */
interface Burst {
  p50Ms: number;
  p99Ms: number;
  firstSecondP99Ms: number;
  errors: number;
}

const BURST_SECONDS = 3;

async function burst(o: Options, server: { url: string }, tollgate: boolean, tokens: string[], ids: string[]): Promise<Burst> {
  // A fresh client: the old one's keep-alive sockets have been closed by the server's keep-alive timeout by now.
  const client = new Client(server.url);
  try {
    const fixed = await fixedRate(client, targets('list', server.url, tollgate, tokens, ids), o.rate, BURST_SECONDS);
    const firstSecond = fixed.latenciesMs.filter((_, i) => fixed.dueOffsetsMs[i] < 1000);
    const b = { p50Ms: percentile(fixed.latenciesMs, 50), p99Ms: percentile(fixed.latenciesMs, 99), firstSecondP99Ms: percentile(firstSecond, 99), errors: fixed.failed };
    say(`list ${tollgate ? 'tollgate' : 'bare'} after a ${o.lull} s lull: p50 ${b.p50Ms.toFixed(1)} ms, p99 ${b.p99Ms.toFixed(1)} ms (first second ${b.firstSecondP99Ms.toFixed(1)} ms)${b.errors ? `; ${b.errors} errors, first: ${fixed.firstFailure}` : ''}`);
    return b;
  } finally {
    client.close();
  }
}

const ms = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)));

function table(o: Options, rows: Row[], bytes: number, load: number[], lull?: { tollgate: Burst; bare: Burst }): string {
  const line = (label: string, cells: string[]) => label.padEnd(20) + cells.map((c) => c.padStart(12)).join('');
  const out = [
    `api-read bench: ${o.rows} changes (${(bytes / 1024).toFixed(1)} kB each), ${o.users} users; ${o.rate} req/s for ${o.seconds} s (open loop), ` +
      `then ${o.connections} in flight for ${o.saturate} s`,
    // Latencies mean little on a machine busy with other work; CPU per request holds up better.
    `load average over the run: ${load.map((l) => l.toFixed(1)).join(' → ')} on ${os.cpus().length} CPUs`,
    line('', ['p50 ms', 'p99 ms', 'max req/s', 'CPU ms/req', 'errors']),
  ];
  for (const r of rows) {
    for (const [label, m] of [['tollgate', r.tollgate], ['bare Hono', r.bare]] as const) {
      out.push(line(`${r.kind} ${label}`, [ms(m.p50Ms), ms(m.p99Ms), String(Math.round(m.maxPerSecond)), m.cpuMsPerRequest.toFixed(2), String(m.errors)]));
    }
    out.push(
      line(`${r.kind} ratio`, [
        `${(r.tollgate.p50Ms / r.bare.p50Ms).toFixed(2)}x`,
        `${(r.tollgate.p99Ms / r.bare.p99Ms).toFixed(2)}x`,
        `${(r.tollgate.maxPerSecond / r.bare.maxPerSecond).toFixed(2)}x`,
        `${(r.tollgate.cpuMsPerRequest / r.bare.cpuMsPerRequest).toFixed(2)}x`,
        '',
      ]),
    );
  }
  if (lull) {
    out.push(`list after a ${o.lull} s lull, ${o.rate} req/s for ${BURST_SECONDS} s:`, line('', ['p50 ms', 'p99 ms', '1st s p99', 'errors']));
    for (const [label, b] of [['tollgate', lull.tollgate], ['bare Hono', lull.bare]] as const) {
      out.push(line(`lull ${label}`, [ms(b.p50Ms), ms(b.p99Ms), ms(b.firstSecondP99Ms), String(b.errors)]));
    }
  }
  // The read path's goals (issue 6): p99 ≤ 20 ms at 500 req/s, and at least half the bare route's throughput.
  const goals = rows.map((r) => `${r.kind} ${r.tollgate.maxPerSecond / r.bare.maxPerSecond >= 0.5 ? '≥' : '<'} 0.5x bare`);
  const list = rows.find((r) => r.kind === 'list');
  if (list && o.rate === 500) goals.unshift(`list p99 ${list.tollgate.p99Ms <= 15 ? '≤' : '>'} 15 ms warm at 500 req/s`);
  if (lull && o.rate === 500) goals.push(`list p99 ${lull.tollgate.p99Ms <= 20 ? '≤' : '>'} 20 ms after a lull`);
  out.push(`goals: ${goals.join('; ')}`);
  return out.join('\n');
}

async function main(teardown: Teardown): Promise<void> {
  const o = options();
  const stack = await startStack(teardown, say);
  say(`seeding ${o.rows} changes…`);
  const ids = await seedChanges(stack.databaseUrl, TENANT, o.rows, say);
  const bytes = await bodyBytes(stack.databaseUrl, TENANT);

  const signer = await benchSigner();
  const tokens = await Promise.all(Array.from({ length: o.users }, (_, i) => signer.token(`reader${i}@example.com`, TENANT)));
  const profileDir = o.profile ? path.join(stack.root, 'profile') : undefined;
  say('starting the worker, the API and the bare Hono server…');
  const worker = await startWorkerProcess(stack);
  teardown.add('worker', () => worker.stop());
  const api = await startApiProcess(stack, signer, { profileDir, root: o.apiRoot });
  const stopApi = teardown.add('API', () => api.stop());
  const bare = await startBareProcess(stack, TENANT);
  teardown.add('bare server', () => bare.stop());

  const rows: Row[] = [];
  const load = [os.loadavg()[0]];
  for (const kind of o.only) {
    // Bare first, then the API, one at a time so neither shares the cores with the other's load.
    const bareResult = await measure(o, kind, bare, false, tokens, ids);
    const tollgateResult = await measure(o, kind, api, true, tokens, ids);
    rows.push({ kind, tollgate: tollgateResult, bare: bareResult });
    load.push(os.loadavg()[0]);
  }

  let lull: { tollgate: Burst; bare: Burst } | undefined;
  if (o.lull > 0 && o.only.includes('list')) {
    say(`no requests for ${o.lull} s…`);
    await new Promise((r) => setTimeout(r, o.lull * 1000));
    // The API first: the bare server's burst comes a few seconds later, after a lull as long or longer.
    lull = { tollgate: await burst(o, api, true, tokens, ids), bare: await burst(o, bare, false, tokens, ids) };
  }

  load.push(os.loadavg()[0]);
  console.log(table(o, rows, bytes, load, lull));
  console.log(JSON.stringify({ options: o, bodyBytes: bytes, loadAverage: load, results: rows, afterLull: lull }));

  if (profileDir) {
    await stopApi();
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's loader runs on another).
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0');
    if (!file) throw new Error(`the API wrote no CPU profile into ${profileDir}`);
    const keepDir = path.join(PROJECT_ROOT, '.bench', 'api-read');
    mkdirSync(keepDir, { recursive: true });
    const kept = path.join(keepDir, `api-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    copyFileSync(path.join(profileDir, file), kept);
    console.log(summariseProfile(kept));
  }
}

runWithTeardown(say, main);

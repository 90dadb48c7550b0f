import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { runWithTeardown, startStack, type Stack, type Teardown } from './change-lifecycle/stack';
import { cpuPerLifecycle, sampleCpu } from './change-lifecycle/cpu';
import { report, summarise, table, type PhaseResult } from './change-lifecycle/stats';

/**
 * The shape of every lifecycle benchmark: N lifecycles of a module through the
 * API against N lifecycles of a minimal workflow with the same messages and
 * activity calls, on one throwaway stack, printed as a table and one JSON line.
 */
export interface Subject {
  /** One lifecycle; resolves to its approve round trips in ms. */
  lifecycle(): Promise<number[]>;
  close(): Promise<void>;
}

export interface LifecycleBench {
  name: string;
  perLifecycle: string;
  startBaseline(temporalAddress: string): Promise<Subject>;
  startTollgate(stack: Stack): Promise<Subject>;
}

interface Options {
  n: number;
  concurrency: number;
  warmup: number;
}

const say = (msg: string) => console.error(`[bench] ${msg}`);

function options(): Options {
  const { values } = parseArgs({ options: { n: { type: 'string' }, concurrency: { type: 'string' }, warmup: { type: 'string' } } });
  const int = (name: keyof Options, flag: string | undefined, env: string, fallback: number, min: number) => {
    const raw = flag ?? process.env[env] ?? String(fallback);
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} (or ${env}) must be an integer >= ${min}, got "${raw}"`);
    return value;
  };
  return {
    n: int('n', values.n, 'BENCH_N', 100, 1),
    concurrency: int('concurrency', values.concurrency, 'BENCH_CONCURRENCY', 10, 1),
    warmup: int('warmup', values.warmup, 'BENCH_WARMUP', 5, 0),
  };
}

/** `count` lifecycles, at most `concurrency` at a time; the first failure stops new ones and is rethrown. */
async function drive(subject: Subject, count: number, concurrency: number): Promise<Omit<PhaseResult, 'cpu'>> {
  const approveMs: number[] = [];
  let started = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && started < count) {
      started++;
      try {
        approveMs.push(...(await subject.lifecycle()));
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const t0 = performance.now();
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, count) }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const failure = lanes.find((l) => l.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  return { lifecycles: count, seconds, approveMs };
}

async function phase(name: string, subject: Subject, o: Options, stack: Stack): Promise<PhaseResult> {
  if (o.warmup > 0) {
    say(`${name}: warming up (${o.warmup} lifecycles)…`);
    await drive(subject, o.warmup, o.concurrency);
  }
  say(`${name}: ${o.n} lifecycles, ${o.concurrency} at a time…`);
  const before = sampleCpu(stack.root);
  const result = await drive(subject, o.n, o.concurrency);
  const cpu = cpuPerLifecycle(before, sampleCpu(stack.root), o.n);
  say(`${name}: ${result.seconds.toFixed(1)} s; CPU per lifecycle ${cpu.totalMs.toFixed(0)} ms (node ${cpu.benchMs.toFixed(0)}, temporal ${cpu.temporalMs.toFixed(0)}, postgres ${cpu.postgresMs.toFixed(0)})`);
  return { ...result, cpu };
}

async function main(bench: LifecycleBench, teardown: Teardown): Promise<void> {
  const o = options();
  // We own Ctrl-C: the teardown stops the API before the workers that serve it.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const stack = await startStack(teardown, say);

  say('starting the baseline worker (bundling its workflow)…');
  const baseline = await bench.startBaseline(stack.temporalAddress);
  const stopBaseline = teardown.add('baseline worker', () => baseline.close());
  const baselineResult = await phase('baseline', baseline, o, stack);
  await stopBaseline();

  say('starting the orchestrator worker (bundling the workflows) and the API…');
  const tollgate = await bench.startTollgate(stack);
  const stopTollgate = teardown.add('tollgate API and worker', () => tollgate.close());
  const tollgateResult = await phase('tollgate', tollgate, o, stack);
  await stopTollgate();

  const result = report(o, summarise(tollgateResult), summarise(baselineResult));
  console.log(table(result, bench.perLifecycle, bench.name));
  console.log(JSON.stringify(result));
}

export function runLifecycleBench(bench: LifecycleBench): void {
  runWithTeardown(say, (teardown) => main(bench, teardown));
}

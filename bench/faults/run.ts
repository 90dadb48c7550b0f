import { parseArgs } from 'node:util';
import { newSeed } from './prng';
import { table } from './report';
import { REPLICA_TARGETS, stopAllReplicas, type Target } from './replicas';
import { SERVICES, stopAllStacks } from './stack';
import { DEFAULTS, runFaultSuite } from './suite';

/**
 * `npm run bench:faults -- --trials 20 [--seed S] [--lanes 4] [--targets api,worker,temporal,postgres] [--replicas 2] [--keep]`
 *
 * Brings up `npm start` on a throwaway DATA_DIR and free ports, drives keyed
 * change lifecycles through the API while it SIGKILLs supervised services at
 * random, then checks every acknowledged request. Progress goes to stderr; the
 * summary and then one JSON line go to stdout. Exits 1 when the goal is not met.
 *
 * `--replicas 2` is the scale-out run: a second API and a second orchestrator
 * worker on the same Postgres and Temporal, requests taking turns between the
 * two APIs, and kills of every replica of each (targets api, api#2, worker,
 * worker#2 unless --targets says otherwise).
 */
const say = (msg: string) => console.error(`[faults] ${msg}`);

function options() {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string' },
      seed: { type: 'string' },
      lanes: { type: 'string' },
      targets: { type: 'string' },
      replicas: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, raw: string | undefined, fallback: number, min: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return value;
  };
  const replicas = int('replicas', values.replicas, 1, 1);
  if (replicas > 2) throw new Error(`--replicas is 1 or 2, got "${values.replicas}"`);
  const known: readonly string[] = replicas === 2 ? [...SERVICES, ...REPLICA_TARGETS] : SERVICES;
  const targets = (values.targets ?? (replicas === 2 ? 'api,api#2,worker,worker#2' : SERVICES.join(','))).split(',').map((t) => t.trim());
  const unknown = targets.filter((t) => !known.includes(t));
  if (unknown.length || targets.length === 0) throw new Error(`--targets takes a comma-separated list of ${known.join(', ')}; got "${values.targets}"`);
  return {
    trials: int('trials', values.trials, DEFAULTS.trials, 0),
    seed: int('seed', values.seed, newSeed(), 0),
    lanes: int('lanes', values.lanes, DEFAULTS.lanes, 1),
    targets: targets as Target[],
    replicas: replicas as 1 | 2,
    keep: values.keep!,
  };
}

async function main(): Promise<number> {
  const o = options();
  say(`seed ${o.seed} (repeat this run with --seed ${o.seed})`);
  const report = await runFaultSuite({ ...DEFAULTS, ...o, say });
  console.log(table(report));
  console.log(JSON.stringify(report));
  return report.goalMet ? 0 : 1;
}

const interrupted = (signal: string, code: number) => () => {
  say(`${signal}: stopping the stack…`);
  void stopAllReplicas()
    .then(() => stopAllStacks())
    .then(() => process.exit(code));
};
process.on('SIGINT', interrupted('SIGINT', 130));
process.on('SIGTERM', interrupted('SIGTERM', 143));

main().then(
  (code) => process.exit(code),
  (err) => {
    say(`failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);

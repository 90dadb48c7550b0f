import { parseArgs } from 'node:util';
import { newSeed } from './prng';
import { table } from './report';
import { SERVICES, stopAllStacks, type Service } from './stack';
import { DEFAULTS, runFaultSuite } from './suite';

/**
 * `npm run bench:faults -- --trials 20 [--seed S] [--lanes 4] [--targets api,worker,temporal,postgres] [--keep]`
 *
 * Brings up `npm start` on a throwaway DATA_DIR and free ports, drives keyed
 * change lifecycles through the API while it SIGKILLs supervised services at
 * random, then checks every acknowledged request. Progress goes to stderr; the
 * summary and then one JSON line go to stdout. Exits 1 when the goal is not met.
 */
const say = (msg: string) => console.error(`[faults] ${msg}`);

function options() {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string' },
      seed: { type: 'string' },
      lanes: { type: 'string' },
      targets: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, raw: string | undefined, fallback: number, min: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
    return value;
  };
  const targets = (values.targets ?? SERVICES.join(',')).split(',').map((t) => t.trim());
  const unknown = targets.filter((t) => !(SERVICES as readonly string[]).includes(t));
  if (unknown.length || targets.length === 0) throw new Error(`--targets takes a comma-separated list of ${SERVICES.join(', ')}; got "${values.targets}"`);
  return {
    trials: int('trials', values.trials, DEFAULTS.trials, 0),
    seed: int('seed', values.seed, newSeed(), 0),
    lanes: int('lanes', values.lanes, DEFAULTS.lanes, 1),
    targets: targets as Service[],
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
  void stopAllStacks().then(() => process.exit(code));
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

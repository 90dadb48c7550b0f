import { startThrowawayStack } from '../../scripts/stack/throwaway';

export interface Stack {
  root: string;
  databaseUrl: string;
  temporalAddress: string;
}

/**
 * Everything the bench started, stopped newest first. `run()` may be called by
 * the normal exit path and by Ctrl-C at once: both wait for the same teardown.
 */
export class Teardown {
  private stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  private running?: Promise<void>;

  constructor(private readonly say: (msg: string) => void) {}

  /** Registers a stop; the returned function runs it now (once) for phases that end early. */
  add(name: string, stop: () => Promise<void>): () => Promise<void> {
    const entry = { name, stop };
    this.stops.push(entry);
    return async () => {
      const i = this.stops.indexOf(entry);
      if (i < 0) return;
      this.stops.splice(i, 1);
      await stop();
    };
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const { name, stop } of this.stops.splice(0).reverse()) {
        await stop().catch((err) => this.say(`stopping ${name} failed: ${(err as Error).message}`));
      }
    })();
    return this.running;
  }
}

/**
 * Runs a bench's main with one teardown: on success, on failure (exit 1) and on
 * Ctrl-C or SIGTERM, everything it started is stopped before the process exits.
 */
export function runWithTeardown(say: (msg: string) => void, main: (teardown: Teardown) => Promise<void>): void {
  const teardown = new Teardown(say);
  const interrupted = (signal: string, code: number) => () => {
    say(`${signal}: tearing down…`);
    void teardown.run().then(() => process.exit(code));
  };
  process.on('SIGINT', interrupted('SIGINT', 130));
  process.on('SIGTERM', interrupted('SIGTERM', 143));
  main(teardown).then(
    () => teardown.run().then(() => process.exit(0)),
    async (err) => {
      say(`failed: ${(err as Error).stack ?? err}`);
      await teardown.run();
      process.exit(1);
    },
  );
}

/** The same throwaway stack `npm test` runs: private Postgres and a headless Temporal dev server on free ports. */
export async function startStack(teardown: Teardown, say: (msg: string) => void): Promise<Stack> {
  const stack = await startThrowawayStack('tollgate-bench', say);
  teardown.add('stack', () => stack.stop());
  return { root: stack.root, databaseUrl: stack.databaseUrl, temporalAddress: stack.temporalAddress };
}

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

/** The same throwaway stack `npm test` runs: private Postgres and a headless Temporal dev server on free ports. */
export async function startStack(teardown: Teardown, say: (msg: string) => void): Promise<Stack> {
  const stack = await startThrowawayStack('tollgate-bench', say);
  teardown.add('stack', () => stack.stop());
  return { root: stack.root, databaseUrl: stack.databaseUrl, temporalAddress: stack.temporalAddress };
}

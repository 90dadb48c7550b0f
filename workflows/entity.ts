import * as wf from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import type { CommandMeta } from '../domain/actor';
import { rethrowAsFailure } from './failures';

/**
 * The loop every workflow-owned entity runs (changes, promotions, …): an update's
 * validator asks the module's pure `decide` whether the command may enter
 * history; its handler runs under a mutex — decide again on the current state,
 * commit (the module's activities: assess, persist, sign …), then publish to the
 * UI and answer with what was persisted, so the response and the next GET agree.
 * Only a committed result becomes the entity: a commit that fails leaves it as
 * it was for the next command.
 */
export interface Decision<E> {
  next: E;
  events: readonly unknown[];
}

export interface EntityOptions<E, C, D extends Decision<E>> {
  initial?: E;
  decide(current: E | undefined, command: C, meta: CommandMeta): D;
  commit(decision: D, meta: CommandMeta): Promise<E>;
  publish(entity: E): void;
}

export class Entity<E, C, D extends Decision<E> = Decision<E>> {
  private value: E | undefined;
  private readonly lock = new Mutex();

  constructor(private readonly options: EntityOptions<E, C, D>) {
    this.value = options.initial;
  }

  get current(): E | undefined {
    return this.value;
  }

  validate(command: C, meta: CommandMeta): void {
    rethrowAsFailure(() => this.options.decide(this.value, command, meta));
  }

  /** Decides and commits under the lock; `prepare` may await activities first (e.g. loading inputs). */
  execute(command: C | (() => Promise<C>), meta: CommandMeta): Promise<E> {
    return this.lock.runExclusive(async () => {
      const resolved = typeof command === 'function' ? await (command as () => Promise<C>)() : command;
      const decision = rethrowAsFailure(() => this.options.decide(this.value, resolved, meta));
      if (decision.events.length === 0) return decision.next;
      const committed = await this.options.commit(decision, meta);
      this.value = committed;
      this.options.publish(committed);
      return committed;
    });
  }

  /** Wires an update to a command: the same translation feeds the validator and the handler. */
  bind<Args extends unknown[]>(definition: UpdateDefinition<E, Args>, toCommand: (...args: Args) => [C, CommandMeta], description: string, options: { prepare?: (command: C) => Promise<C> } = {}): void {
    wf.setHandler(
      definition,
      (...args: Args) => {
        const [command, meta] = toCommand(...args);
        return this.execute(options.prepare ? () => options.prepare!(command) : command, meta);
      },
      { validator: (...args: Args) => this.validate(...toCommand(...args)), description },
    );
  }
}

/** Temporal's own suggestion, or a test's lower cap, says the history should start afresh. */
export function historyFull(maxHistoryEvents?: number): boolean {
  const info = wf.workflowInfo();
  return info.continueAsNewSuggested || (maxHistoryEvents !== undefined && info.historyLength > maxHistoryEvents);
}

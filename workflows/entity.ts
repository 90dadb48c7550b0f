import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair, UpdateDefinition } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import { SYSTEM_USER, type CommandMeta } from '../domain/actor';
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

/** How an entity workflow's activities run: each try gets 30 s, and a failed try is retried with backoff until it succeeds or fails for good (activities/db-failures.ts). */
export const ENTITY_ACTIVITY_OPTIONS: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
};

/** The system itself, for commands a workflow's own timers issue. */
export const SYSTEM: CommandMeta = { actor: { userId: SYSTEM_USER, permissions: [] } };

/** An update-with-start whose create was refused leaves an empty workflow; it gives up after this. */
const CREATE_GRACE = '5 minutes';

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
  /** What the commit in flight will make the entity: its row may already be visible to clients. */
  private committing: E | undefined;
  private readonly lock = new Mutex();

  constructor(private readonly options: EntityOptions<E, C, D>) {
    this.value = options.initial;
  }

  get current(): E | undefined {
    return this.value;
  }

  /**
   * Whether there is an entity to run: one carried across continue-as-new
   * (shown in the new run's UI again), or one created by the update that
   * started the workflow, within CREATE_GRACE.
   */
  async created(): Promise<boolean> {
    if (this.value === undefined) return wf.condition(() => this.value !== undefined, CREATE_GRACE, { summary: 'create grace' });
    this.options.publish(this.value);
    return true;
  }

  /**
   * Judges a command on the newest state there is: the one being committed when
   * a commit is in flight, since a client may already have read its row (a
   * promotion held by a freeze, then cancelled). The handler decides again on
   * what was committed, so a commit that fails cannot let a wrong command through.
   */
  validate(command: C, meta: CommandMeta): void {
    rethrowAsFailure(() => this.options.decide(this.committing ?? this.value, command, meta));
  }

  /** Decides and commits under the lock; `prepare` may await activities first (e.g. loading inputs). */
  execute(command: C | (() => Promise<C>), meta: CommandMeta): Promise<E> {
    return this.lock.runExclusive(async () => {
      const resolved = typeof command === 'function' ? await (command as () => Promise<C>)() : command;
      const decision = rethrowAsFailure(() => this.options.decide(this.value, resolved, meta));
      if (decision.events.length === 0) return decision.next;
      this.committing = decision.next;
      let committed: E;
      try {
        committed = await this.options.commit(decision, meta);
      } finally {
        this.committing = undefined;
      }
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
        if (!options.prepare) return this.execute(command, meta);
        // Under the lock, refuse what the current state already refuses before paying for `prepare`'s activities:
        // of many concurrent commands accepted together, the ones that lost the race cost nothing.
        return this.execute(() => {
          this.validate(command, meta);
          return options.prepare!(command);
        }, meta);
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

/**
 * Shows an entity in the Temporal UI: its search attributes and its current
 * details. Only attributes whose value moved are upserted, since each upsert is
 * a history event and a visibility write; workflowInfo() reflects the start
 * options and every upsert so far in this run.
 */
export function showInUi(searchAttributes: SearchAttributeUpdatePair[], details: string): void {
  const known = wf.workflowInfo().typedSearchAttributes;
  const moved = searchAttributes.filter(({ key, value }) => JSON.stringify(known.get(key) ?? null) !== JSON.stringify(value));
  if (moved.length) wf.upsertSearchAttributes(moved);
  wf.setCurrentDetails(details);
}

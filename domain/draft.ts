/**
 * The edits one command makes to an entity and the audit events they produce:
 * each `apply` records only the fields whose value really moved, as
 * before/after. Shared by every workflow-owned entity's `decide`.
 */
export interface EntityEvent {
  action: string;
  /** Null when the command created the entity: nothing stood before it. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

export class Draft<T extends object> {
  value: T;
  events: EntityEvent[] = [];
  constructor(readonly original: T) {
    this.value = { ...original };
  }

  apply(action: string, patch: Partial<T>): void {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const [key, next] of Object.entries(patch)) {
      const old = (this.value as Record<string, unknown>)[key];
      if (JSON.stringify(old) === JSON.stringify(next)) continue;
      before[key] = old;
      after[key] = next;
    }
    if (Object.keys(after).length === 0) return;
    this.value = { ...this.value, ...patch };
    this.events.push({ action, before, after });
  }

  get changed(): boolean {
    return this.events.length > 0;
  }
}

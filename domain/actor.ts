/**
 * Who sent a command, as workflows and domain rules see them. Shared by every
 * module (changes, promotions, …); no tenant, since the workflow id carries it.
 */
export interface Actor {
  userId: string;
  email?: string;
  name?: string;
  permissions: string[];
  /** Roles and the token's `groups` claim, lower-cased: approver groups match against these. */
  groups?: string[];
  requestId?: string;
}

/** How Tollgate itself is named where it acts on its own (timers, status moves, SLA clocks). */
export const SYSTEM_USER = 'tollgate';

/** A command's sender and the API request it came from, for audit rows. */
export interface CommandMeta {
  actor: Actor;
  requestId?: string;
}

/** Who someone is, as a record keeps it: a user id and, when known, an email. */
export interface Identity {
  userId: string;
  email?: string | null;
}

/** How a person is named: every identity they are known by, lower-cased. */
export function identitiesOfActor(actor: Identity): string[] {
  const ids = [actor.userId.toLowerCase()];
  if (actor.email) ids.push(actor.email.toLowerCase());
  return ids;
}

/**
 * Whether two records name one person: they share any identity (user id or
 * email). Separation of duties and the counting of approvals both use this, so
 * two tokens with different user ids and one email are one person to both.
 */
export function samePerson(a: Identity, b: Identity): boolean {
  const mine = new Set(identitiesOfActor(a));
  return identitiesOfActor(b).some((id) => mine.has(id));
}

/** How many distinct people the records name, by samePerson (transitively: shared identities merge). */
export function countPeople(records: readonly Identity[]): number {
  let people: Array<Set<string>> = [];
  for (const record of records) {
    const ids = identitiesOfActor(record);
    const same = people.filter((p) => ids.some((id) => p.has(id)));
    people = [...people.filter((p) => !same.includes(p)), new Set([...ids, ...same.flatMap((p) => [...p])])];
  }
  return people.length;
}

/** The id an approval is recorded under; who counts as the same person is samePerson's rule. */
export function personKey(actor: Pick<Actor, 'userId'>): string {
  return actor.userId.toLowerCase();
}

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

/** A command's sender and the API request it came from, for audit rows. */
export interface CommandMeta {
  actor: Actor;
  requestId?: string;
}

/** How a person is named: every identity they are known by, lower-cased. */
export function identitiesOfActor(actor: Pick<Actor, 'userId' | 'email'>): string[] {
  const ids = [actor.userId.toLowerCase()];
  if (actor.email) ids.push(actor.email.toLowerCase());
  return ids;
}

/** The one name a person is counted under, so two approvals by one person count once. */
export function personKey(actor: Pick<Actor, 'userId'>): string {
  return actor.userId.toLowerCase();
}

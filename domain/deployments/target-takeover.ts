/**
 * Whether a registration may take the targets it names. A target whose agent is
 * live (not revoked, heartbeated within AGENT_OFFLINE_AFTER) is that agent's: a
 * registration token alone cannot move it, or any token holder could quietly
 * empty a running agent. Only a caller who may manage agents, and says so with
 * `takeOver: true`, moves it. Targets of an offline or revoked agent, or of none,
 * are free to take; their previous owner is still told (it may come back).
 */

export type OwnerStatus = 'online' | 'offline' | 'revoked';

export interface NamedTarget {
  id: string;
  name: string;
  owner: { id: string; name: string; status: OwnerStatus } | null;
}

export interface OwnedTarget {
  targetId: string;
  target: string;
  ownerId: string;
  owner: string;
}

/** Targets that leave an agent, grouped by that agent: the ones it is told about and the audit names. */
export interface TakenFrom {
  agentId: string;
  agentName: string;
  targets: Array<{ id: string; name: string }>;
}

export type TakeOverDecision =
  | { allowed: true; takenFrom: TakenFrom[] }
  /** TARGET_OWNED: named targets belong to live agents and the caller did not (or may not) take them over. */
  | { allowed: false; code: 'TARGET_OWNED'; owned: OwnedTarget[]; message: string }
  /** takeOver: true from a caller without agent:manage. */
  | { allowed: false; code: 'TAKE_OVER_FORBIDDEN'; owned: OwnedTarget[]; message: string };

export function decideTakeOver(input: { targets: NamedTarget[]; takeOver: boolean; canManage: boolean }): TakeOverDecision {
  const owned: OwnedTarget[] = input.targets
    .filter((t) => t.owner?.status === 'online')
    .map((t) => ({ targetId: t.id, target: t.name, ownerId: t.owner!.id, owner: t.owner!.name }));
  if (input.takeOver && !input.canManage) {
    return {
      allowed: false,
      code: 'TAKE_OVER_FORBIDDEN',
      owned,
      message: 'takeOver: true needs the "agent:manage" permission (release managers); a registration token cannot take targets from another agent',
    };
  }
  if (owned.length > 0 && !input.takeOver) {
    const named = owned.map((o) => `${o.target} (agent ${o.owner})`).join(', ');
    return {
      allowed: false,
      code: 'TARGET_OWNED',
      owned,
      message: `${owned.length === 1 ? 'Target' : 'Targets'} ${named} ${owned.length === 1 ? 'belongs' : 'belong'} to an online agent; to move ${owned.length === 1 ? 'it' : 'them'}, a caller with agent:manage registers with "takeOver": true`,
    };
  }
  const byOwner = new Map<string, TakenFrom>();
  for (const t of input.targets) {
    if (!t.owner) continue;
    const entry = byOwner.get(t.owner.id) ?? { agentId: t.owner.id, agentName: t.owner.name, targets: [] };
    entry.targets.push({ id: t.id, name: t.name });
    byOwner.set(t.owner.id, entry);
  }
  return { allowed: true, takenFrom: [...byOwner.values()] };
}

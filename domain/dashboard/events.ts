import { hasPermission, type Permission, type Principal } from '../permissions';

/**
 * What the dashboard stream shows whom: each event family is read with the
 * permission that reads its records, so a viewer without incident:read never
 * sees an incident's SLA event. A caller holding none of them has nothing to watch.
 */
export const EVENT_FAMILIES: Readonly<Record<string, Permission>> = {
  promotion: 'promotion:read',
  deployment: 'deployment:read',
  incident: 'incident:read',
  rollout: 'rollout:read',
  freeze: 'inventory:read',
};

/** The dashboard's event types, each `<family>.<what>`. */
export const DASHBOARD_EVENT_TYPES = [
  'promotion.status',
  'promotion.approval',
  'deployment.job',
  'deployment.target',
  'freeze.started',
  'freeze.ended',
  'incident.sla_warning',
  'incident.sla_breach',
  'rollout.step',
] as const;

export function visibleFamilies(principal: Pick<Principal, 'permissions'>): Set<string> {
  return new Set(Object.entries(EVENT_FAMILIES).filter(([, permission]) => hasPermission(principal, permission)).map(([family]) => family));
}

export function isVisible(eventType: string, families: ReadonlySet<string>): boolean {
  const dot = eventType.indexOf('.');
  return dot > 0 && families.has(eventType.slice(0, dot));
}

/** Event ids are decimal strings, numbered per tenant from 1; '0' means "before the first". */
export function parseEventId(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^\d{1,18}$/.test(value)) return undefined;
  return BigInt(value).toString();
}

export const isAfter = (id: string, than: string): boolean => BigInt(id) > BigInt(than);

/** What one pass of the dashboard sweep did (the sweep activity's answer, kept in the workflow's history). */
export interface DashboardSweepResult {
  /** Environments whose freeze state was written (a freeze that started or ended, or one seen for the first time). */
  freezeStates: number;
  /** Events deleted for being older than DASHBOARD_EVENT_RETENTION. */
  purged: number;
}

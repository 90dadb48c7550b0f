import type { TestApp } from './app';

/** Builders and shortcuts for incident tests. */

/** The spec's "Create Incident" example body, as written. */
export const REDIS_EXAMPLE = {
  short_description: 'Redis cache miss rate above 90%',
  description: 'ElastiCache Redis cluster showing 95% cache miss rate since 15:00 UTC. All microservices impacted.',
  priority: 'P1',
  category: 'cache',
  subcategory: 'elasticache',
  impact: 'high',
  urgency: 'high',
  assignment_group: 'Platform Engineering',
  ci_id: 'CI0000456',
  notify_stakeholders: true,
} as const;

export async function createIncident(app: TestApp, token: string, body: Record<string, unknown>, prefix = '/prod/api') {
  const res = await app.http('POST', `${prefix}/incidents`, { token, body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return prefix === '/api/v1' ? res.body.data : res.body;
}

export async function patchIncident(app: TestApp, token: string, id: string, body: Record<string, unknown>) {
  const res = await app.http('PATCH', `/prod/api/incidents/${id}`, { token, body });
  if (res.status !== 200) throw new Error(`PATCH ${id} ${JSON.stringify(body)} → ${res.status} ${res.text}`);
  return res.body;
}

export async function getIncident(app: TestApp, token: string, id: string) {
  const res = await app.http('GET', `/prod/api/incidents/${id}`, { token });
  if (res.status !== 200) throw new Error(`GET ${id} → ${res.status} ${res.text}`);
  return res.body;
}

/** Moves an incident along a path of states, one PATCH each. */
export async function walk(app: TestApp, token: string, id: string, states: string[]) {
  let last;
  for (const state of states) last = await patchIncident(app, token, id, { state });
  return last;
}

/** The incident without what the SLA workflow writes in the background, for comparing two reads. */
export function apiFields<T extends Record<string, unknown>>(incident: T): Omit<T, 'sla' | 'sla_breach_at' | 'sla_breached' | 'ci_changes'> {
  // ci_changes is the detail's alone (a GET lists the changes on the incident's CI); a write answers the incident itself.
  const { sla: _sla, sla_breach_at: _at, sla_breached: _breached, ci_changes: _ciChanges, ...rest } = incident;
  return rest;
}

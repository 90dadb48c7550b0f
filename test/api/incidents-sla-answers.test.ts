import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { createIncident, getIncident, patchIncident } from '../support/incidents';

/**
 * A write answers with the SLA clock as it is after the change, not as the
 * workflow last recorded it: the create shows its due times, a hold answers
 * paused, the resume answers running with the due time moved out by the time
 * held; each answer equals a read right after it, and still does once the
 * workflow has caught up.
 */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp({ env: { INCIDENT_SLA_RESPONSE: 'P2=1h', INCIDENT_SLA_RESOLUTION: 'P2=10m' } });
  token = await app.token('sam@example.com', { roles: ['sre'] });
});
afterAll(() => app.close());

const at = (iso: string) => Date.parse(iso);
const MINUTE = 60_000;

/** The clock the workflow recorded, once it has heard of this incident version. */
async function recorded(id: string, version: number) {
  return until(`the SLA workflow's write for version ${version}`, async () => {
    const { rows } = await app.pool.query(
      'SELECT sla_version FROM incidents i WHERE tenant_id = $1 AND id = $2 AND sla_version > (SELECT extract(epoch FROM max(at)) * 1000 FROM incident_sla_events e WHERE e.tenant_id = i.tenant_id AND e.incident_id = i.id AND e.version <= $3)',
      [app.tenant, id, version],
    );
    return rows[0] ? rows[0] : undefined;
  });
}

test('create, hold and resume each answer the clock as it now is, equal to a read right after', async () => {
  const created = await createIncident(app, token, { short_description: 'Checkout latency', priority: 'P2' });
  expect(created.sla).toMatchObject({ clock: 'running', resolution_breached: false, response_breached: false, warned: false });
  expect(at(created.sla.resolution_due_at)).toBe(at(created.created_at) + 10 * MINUTE);
  expect(at(created.sla.response_due_at)).toBe(at(created.created_at) + 60 * MINUTE);
  expect(created.sla_breach_at).toBe(created.sla.resolution_due_at);
  expect(withoutDetail(await getIncident(app, token, created.id))).toEqual(created);

  const started = await patchIncident(app, token, created.id, { state: 'in_progress' });
  expect(started.sla.clock).toBe('running');
  expect(started.sla.resolution_due_at).toBe(created.sla.resolution_due_at);
  expect(withoutDetail(await getIncident(app, token, created.id))).toEqual(started);

  const held = await patchIncident(app, token, created.id, { state: 'on_hold' });
  expect(held.sla.clock).toBe('paused');
  expect(held.sla.resolution_due_at).toBe(created.sla.resolution_due_at);
  expect(withoutDetail(await getIncident(app, token, created.id))).toEqual(held);

  const resumed = await patchIncident(app, token, created.id, { state: 'in_progress' });
  const heldFor = at(resumed.updated_at) - at(held.updated_at);
  expect(heldFor).toBeGreaterThan(0);
  expect(resumed.sla.clock).toBe('running');
  expect(at(resumed.sla.resolution_due_at)).toBe(at(created.sla.resolution_due_at) + heldFor);
  expect(resumed.sla_breach_at).toBe(resumed.sla.resolution_due_at);
  expect(withoutDetail(await getIncident(app, token, created.id))).toEqual(resumed);

  // The workflow recomputes the same clock from the same rule: the served answer stands as it was.
  await recorded(created.id, resumed.version);
  expect(withoutDetail(await getIncident(app, token, created.id))).toEqual(resumed);
});

test('a hold right after the create is not overwritten by the workflow still working on the create', async () => {
  const created = await createIncident(app, token, { short_description: 'Queue backlog', priority: 'P2' });
  await patchIncident(app, token, created.id, { state: 'in_progress' });
  const held = await patchIncident(app, token, created.id, { state: 'on_hold' });
  expect(held.sla.clock).toBe('paused');
  await recorded(created.id, held.version);
  const after = await getIncident(app, token, created.id);
  expect(after.sla.clock).toBe('paused');
  expect(withoutDetail(after)).toEqual(held);
});

/** A GET is the incident's detail: it also lists the changes on the incident's CI (ci_changes), which a write does not answer. */
function withoutDetail<T extends Record<string, unknown>>(incident: T): Omit<T, 'ci_changes'> {
  const { ci_changes: _ciChanges, ...rest } = incident;
  return rest;
}

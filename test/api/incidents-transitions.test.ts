import { INCIDENT_STATES, type IncidentState } from '../../domain/incidents/model';
import { TRANSITIONS } from '../../domain/incidents/state-machine';
import { startTestApp, type TestApp } from '../support/app';
import { apiFields, createIncident, getIncident, patchIncident, walk } from '../support/incidents';

/**
 * Every transition over HTTP: each legal one answers 200 and sets what it
 * sets, each illegal one is a 409 naming the current state and the allowed
 * next states, and leaves the incident as it was. (The table itself is checked
 * against the spec in test/unit/incident-state-machine.test.ts.)
 */
let app: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  token = await app.token('oncall@example.com', { roles: ['sre'] });
});
afterAll(() => app.close());

/** The shortest path of states from new to each state. */
function pathTo(target: IncidentState): IncidentState[] {
  const queue: IncidentState[][] = [[]];
  while (queue.length) {
    const path = queue.shift()!;
    const at = path[path.length - 1] ?? 'new';
    if (at === target) return path;
    for (const next of TRANSITIONS[at]) if (!path.includes(next)) queue.push([...path, next]);
  }
  throw new Error(`${target} is unreachable from new`);
}

async function incidentIn(state: IncidentState) {
  const { id } = await createIncident(app, token, { short_description: `Reaching ${state}` });
  await walk(app, token, id, pathTo(state));
  return id;
}

describe.each(INCIDENT_STATES.map((s) => [s]))('from %s', (from) => {
  const legal = TRANSITIONS[from];
  const illegal = INCIDENT_STATES.filter((to) => to !== from && !legal.includes(to));

  if (legal.length) {
    test.each(legal.map((to) => [to]))('→ %s is allowed', async (to) => {
      const id = await incidentIn(from);
      const moved = await patchIncident(app, token, id, { state: to });
      expect(moved.state).toBe(to);
      expect(apiFields(await getIncident(app, token, id))).toEqual(apiFields(moved));
    });
  }

  if (illegal.length) {
    test(`→ ${illegal.join(', ')} are 409s that change nothing`, async () => {
      const id = await incidentIn(from);
      const before = await getIncident(app, token, id);
      for (const to of illegal) {
        const res = await app.http('PATCH', `/prod/api/incidents/${id}`, { token, body: { state: to } });
        expect(res.status).toBe(409);
        expect(res.body.error.code).toBe(legal.length ? 'INVALID_STATE_TRANSITION' : 'INCIDENT_CLOSED');
        expect(res.body.error.details).toMatchObject({ current_state: from, allowed_next_states: [...legal] });
      }
      expect(apiFields(await getIncident(app, token, id))).toEqual(apiFields(before));
    });
  }
});

test('asking for the state it is already in changes nothing', async () => {
  const id = await incidentIn('in_progress');
  const before = await getIncident(app, token, id);
  expect(apiFields(await patchIncident(app, token, id, { state: 'in_progress' }))).toEqual(apiFields(before));
});

test('resolved_at and closed_at are set by the transitions; reopening clears resolved_at; the trail names each step', async () => {
  const id = await incidentIn('in_progress');
  const resolved = await patchIncident(app, token, id, { state: 'resolved' });
  expect(resolved.resolved_at).toBe(resolved.updated_at);
  expect(resolved.closed_at).toBeNull();
  const reopened = await patchIncident(app, token, id, { state: 'reopened' });
  expect(reopened.resolved_at).toBeNull();
  await walk(app, token, id, ['in_progress', 'on_hold', 'in_progress', 'resolved']);
  const closed = await patchIncident(app, token, id, { state: 'closed' });
  expect(closed).toMatchObject({ state: 'closed', closed_at: closed.updated_at, resolved_at: expect.any(String) });
  const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [app.tenant, id]);
  expect(rows.map((r) => r.action)).toEqual([
    'incident.create', 'incident.start', 'incident.resolve', 'incident.reopen', 'incident.start', 'incident.hold', 'incident.resume', 'incident.resolve', 'incident.close',
  ]);
});

test('a closed or cancelled incident takes no edits, but still takes work notes', async () => {
  for (const state of ['closed', 'cancelled'] as const) {
    const id = await incidentIn(state);
    const edit = await app.http('PATCH', `/prod/api/incidents/${id}`, { token, body: { assigned_to: 'late@example.com' } });
    expect(edit.status).toBe(409);
    expect(edit.body.error).toMatchObject({ code: 'INCIDENT_CLOSED', details: { current_state: state, allowed_next_states: [] } });
    expect((await patchIncident(app, token, id, { work_note: 'Post-incident review scheduled' })).work_notes_count).toBe(1);
  }
});

test('fields and a transition in one PATCH land together, or not at all', async () => {
  const { id } = await createIncident(app, token, { short_description: 'All or nothing' });
  const refused = await app.http('PATCH', `/prod/api/incidents/${id}`, { token, body: { assigned_to: 'a@example.com', state: 'resolved', work_note: 'not kept' } });
  expect(refused.status).toBe(409);
  const after = await getIncident(app, token, id);
  expect(after).toMatchObject({ assigned_to: null, state: 'new', work_notes_count: 0, version: 1 });
});

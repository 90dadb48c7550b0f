import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { apiFields, createIncident, getIncident, patchIncident, REDIS_EXAMPLE } from '../support/incidents';

/** The incident resource over HTTP: the spec's examples as written, field rules, the priority matrix, dialects and tenancy. */
let app: TestApp;
let jane: string;

beforeAll(async () => {
  app = await startTestApp();
  jane = await app.token('jane.doe@example.com', { roles: ['sre'] });
});
afterAll(() => app.close());

test("the spec's create example: 201 with the spec's fields, Location, opened_by from the token", async () => {
  const res = await app.http('POST', '/prod/api/incidents', { token: jane, body: REDIS_EXAMPLE });
  expect(res.status).toBe(201);
  const incident = res.body;
  expect(incident.id).toMatch(/^INC\d{7}$/);
  expect(res.headers.get('location')).toBe(`/prod/api/incidents/${incident.id}`);
  expect(incident).toMatchObject({
    number: incident.id,
    short_description: 'Redis cache miss rate above 90%',
    description: REDIS_EXAMPLE.description,
    priority: 'P1',
    state: 'new',
    category: 'cache',
    subcategory: 'elasticache',
    impact: 'high',
    urgency: 'high',
    assignment_group: 'Platform Engineering',
    assigned_to: null,
    opened_by: 'jane.doe@example.com',
    ci_id: 'CI0000456',
    parent_problem_id: null,
    change_id: null,
    resolved_at: null,
    closed_at: null,
    work_notes_count: 0,
    ai_suggested_resolution: null,
    sla_breached: false,
  });
  expect(Object.keys(incident).slice(0, 23)).toEqual([
    'id', 'number', 'short_description', 'description', 'priority', 'state', 'category', 'subcategory', 'impact', 'urgency',
    'assignment_group', 'assigned_to', 'opened_by', 'ci_id', 'parent_problem_id', 'change_id', 'sla_breach_at', 'resolved_at',
    'closed_at', 'created_at', 'updated_at', 'work_notes_count', 'ai_suggested_resolution',
  ]);
  expect(await getIncident(app, jane, incident.id)).toMatchObject({ id: incident.id, priority: 'P1' });
  // The SLA clock computes the breach time (P1: 4 h by default) and writes it to the row.
  const withSla = await until('sla_breach_at', async () => {
    const i = await getIncident(app, jane, incident.id);
    return i.sla_breach_at ? i : undefined;
  });
  expect(Date.parse(withSla.sla_breach_at) - Date.parse(incident.created_at)).toBe(4 * 3_600_000);
  expect(withSla.sla).toMatchObject({ clock: 'running', response_breached: false, resolution_breached: false, warned: false });
});

test("the spec's update example: state, assignee and a work note in one PATCH", async () => {
  const { id } = await createIncident(app, jane, { short_description: 'Database timeout in prod', category: 'database', subcategory: 'aurora', impact: 'medium', urgency: 'medium' });
  const updated = await patchIncident(app, jane, id, {
    state: 'in_progress',
    assigned_to: 'jane.doe@example.com',
    work_note: 'Investigating Aurora slow query log — identified missing index on incidents_created_at',
  });
  expect(updated).toMatchObject({ state: 'in_progress', assigned_to: 'jane.doe@example.com', work_notes_count: 1, priority: 'P3' });
  const notes = (await app.http('GET', `/prod/api/incidents/${id}/notes`, { token: jane })).body;
  expect(notes.total).toBe(1);
  expect(notes.data[0]).toMatchObject({ incident_id: id, body: expect.stringContaining('missing index'), visibility: 'team', author: 'jane.doe@example.com' });
  const { rows } = await app.pool.query('SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id', [app.tenant, id]);
  expect(rows.map((r) => r.action)).toEqual(['incident.create', 'incident.note', 'incident.update', 'incident.start']);
});

test("the spec's work-note example", async () => {
  const { id } = await createIncident(app, jane, { short_description: 'Aurora connection errors' });
  const res = await app.http('POST', `/prod/api/incidents/${id}/notes`, {
    token: jane,
    body: { body: 'Restarted Aurora connection pool. Error rate dropped to 0. Monitoring for 30 min.', visibility: 'team', attachments: [] },
  });
  expect(res.status).toBe(201);
  expect(res.body).toEqual({
    id: expect.stringMatching(/^note_[a-z0-9]+$/),
    incident_id: id,
    body: 'Restarted Aurora connection pool. Error rate dropped to 0. Monitoring for 30 min.',
    visibility: 'team',
    author: 'jane.doe@example.com',
    attachments: [],
    created_at: expect.any(String),
  });
  const withAttachment = await app.http('POST', `/prod/api/incidents/${id}/notes`, {
    token: jane,
    body: { body: 'Slow query log attached', visibility: 'public', attachments: [{ name: 'slow.log', url: 'https://files.example.com/slow.log', size_bytes: 2048 }] },
  });
  expect(withAttachment.body).toMatchObject({ visibility: 'public', attachments: [{ name: 'slow.log', url: 'https://files.example.com/slow.log', content_type: null, size_bytes: 2048 }] });
  expect((await getIncident(app, jane, id)).work_notes_count).toBe(2);
});

test('the Stella dialect serves the same incident in its envelope', async () => {
  const created = await app.http('POST', '/api/v1/incidents', { token: jane, body: { short_description: 'Queue backlog growing' } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ success: true, data: { short_description: 'Queue backlog growing', priority: 'P3', state: 'new' }, meta: { requestId: expect.any(String) } });
  const viaStackFlow = await getIncident(app, jane, created.body.data.id);
  expect(apiFields(viaStackFlow)).toEqual(apiFields(created.body.data));
  const viaV1 = await app.http('GET', `/prod/api/v1/incidents/${created.body.data.id}`, { token: jane });
  expect(apiFields(viaV1.body)).toEqual(apiFields(created.body.data));
});

describe('priority from impact × urgency', () => {
  const matrix: Array<[string, string, string]> = [
    ['high', 'high', 'P1'], ['high', 'medium', 'P2'], ['high', 'low', 'P3'],
    ['medium', 'high', 'P2'], ['medium', 'medium', 'P3'], ['medium', 'low', 'P4'],
    ['low', 'high', 'P3'], ['low', 'medium', 'P4'], ['low', 'low', 'P4'],
  ];
  test.each(matrix)('impact %s × urgency %s → %s', async (impact, urgency, priority) => {
    const incident = await createIncident(app, jane, { short_description: `Matrix ${impact}/${urgency}`, impact, urgency });
    expect(incident.priority).toBe(priority);
  });

  test('P3 without both; an explicit priority wins; a PATCH of impact or urgency recomputes unless priority is sent', async () => {
    expect((await createIncident(app, jane, { short_description: 'Only impact', impact: 'high' })).priority).toBe('P3');
    expect((await createIncident(app, jane, { short_description: 'Explicit', impact: 'low', urgency: 'low', priority: 'P1' })).priority).toBe('P1');
    const { id } = await createIncident(app, jane, { short_description: 'Escalating', impact: 'low', urgency: 'low' });
    expect((await patchIncident(app, jane, id, { impact: 'high' })).priority).toBe('P3');
    expect((await patchIncident(app, jane, id, { urgency: 'high' })).priority).toBe('P1');
    expect((await patchIncident(app, jane, id, { urgency: 'medium', priority: 'P4' })).priority).toBe('P4');
  });
});

describe('field rules', () => {
  async function refused(body: unknown, method = 'POST', path = '/prod/api/incidents') {
    const res = await app.http(method, path, { token: jane, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    return res.body.error.validation_errors as Array<{ field: string; code: string }>;
  }

  test('a read-only field in a body is a 400 naming it', async () => {
    const errors = await refused({ short_description: 'x', id: 'INC0000001', sla_breach_at: '2026-05-19T18:30:00Z', work_notes_count: 9, created_at: '2026-05-19T14:30:00Z', opened_by: 'x@example.com' });
    expect(errors).toEqual(
      expect.arrayContaining(['id', 'sla_breach_at', 'work_notes_count', 'created_at', 'opened_by'].map((field) => expect.objectContaining({ field, code: 'read_only' }))),
    );
    const { id } = await createIncident(app, jane, { short_description: 'Read-only on PATCH' });
    expect(await refused({ updated_at: '2026-05-19T14:30:00Z' }, 'PATCH', `/prod/api/incidents/${id}`)).toEqual([expect.objectContaining({ field: 'updated_at', code: 'read_only' })]);
  });

  test('short_description is required and at most 255 characters; enums and emails are checked', async () => {
    expect((await refused({ description: 'no summary' })).map((e) => e.field)).toEqual(['short_description']);
    expect(await refused({ short_description: 'x'.repeat(256) })).toEqual([expect.objectContaining({ field: 'short_description', code: 'too_big' })]);
    expect((await createIncident(app, jane, { short_description: 'y'.repeat(255) })).short_description).toHaveLength(255);
    expect((await refused({ short_description: 'x', priority: 'P5' }))[0].field).toBe('priority');
    expect((await refused({ short_description: 'x', impact: 'severe' }))[0].field).toBe('impact');
    expect((await refused({ short_description: 'x', state: 'archived' }))[0].field).toBe('state');
    expect((await refused({ short_description: 'x', assigned_to: 'jane' }))[0].field).toBe('assigned_to');
    expect((await refused({ short_description: 'x', colour: 'red' }))[0]).toMatchObject({ field: 'colour', code: 'unknown_field' });
  });

  test('description keeps its Markdown as written', async () => {
    const markdown = '## Impact\n\n- checkout **down**\n- `pgbouncer` saturated\n\n```sql\nSELECT 1;\n```';
    expect((await createIncident(app, jane, { short_description: 'Markdown', description: markdown })).description).toBe(markdown);
  });

  test('an empty PATCH, NUL bytes and lone surrogates are 400s, never 500s', async () => {
    const { id } = await createIncident(app, jane, { short_description: 'Hostile input target' });
    await refused({}, 'PATCH', `/prod/api/incidents/${id}`);
    await refused({ short_description: 'a\u0000b' });
    await refused({ short_description: 'bad \ud800' });
    await refused({ body: 'x\u0000' }, 'POST', `/prod/api/incidents/${id}/notes`);
    expect((await app.http('GET', '/prod/api/incidents?q=%00', { token: jane })).status).toBe(400);
    expect((await app.http('GET', '/prod/api/incidents?created_after=0000-01-01T00:00:00Z', { token: jane })).status).toBe(400);
    expect((await app.http('GET', '/prod/api/incidents/%00', { token: jane })).status).toBeGreaterThanOrEqual(400);
    expect((await app.http('GET', '/prod/api/incidents/%00', { token: jane })).status).toBeLessThan(500);
    expect((await app.http('GET', '/prod/api/incidents/INC9999999', { token: jane })).status).toBe(404);
    expect((await app.http('GET', '/prod/api/incidents/not-an-id/notes', { token: jane })).status).toBe(404);
  });

  test('creating straight into a state one step from new works; further is a 409', async () => {
    expect((await createIncident(app, jane, { short_description: 'Already on it', state: 'in_progress' })).state).toBe('in_progress');
    const res = await app.http('POST', '/prod/api/incidents', { token: jane, body: { short_description: 'Too far', state: 'resolved' } });
    expect(res.status).toBe(409);
    expect(res.body.error.details).toEqual({ current_state: 'new', allowed_next_states: ['in_progress', 'cancelled'], requested_state: 'resolved' });
  });
});

test('permissions: a viewer reads but cannot write; no token is 401', async () => {
  const viewer = await app.token('val@example.com', { roles: ['viewer'] });
  const { id } = await createIncident(app, jane, { short_description: 'Viewer target' });
  expect((await app.http('GET', `/prod/api/incidents/${id}`, { token: viewer })).status).toBe(200);
  expect((await app.http('POST', '/prod/api/incidents', { token: viewer, body: { short_description: 'x' } })).status).toBe(403);
  expect((await app.http('PATCH', `/prod/api/incidents/${id}`, { token: viewer, body: { state: 'in_progress' } })).status).toBe(403);
  expect((await app.http('POST', `/prod/api/incidents/${id}/notes`, { token: viewer, body: { body: 'x' } })).status).toBe(403);
  expect((await app.http('GET', `/prod/api/incidents/${id}`)).status).toBe(401);
});

test("another tenant's incident is a 404 everywhere", async () => {
  const { id } = await createIncident(app, jane, { short_description: 'Tenant A only' });
  const other = await app.token('mallory@example.com', { tenant: 'someone-else', roles: ['itsm_manager'] });
  expect((await app.http('GET', `/prod/api/incidents/${id}`, { token: other })).status).toBe(404);
  expect((await app.http('PATCH', `/prod/api/incidents/${id}`, { token: other, body: { state: 'in_progress' } })).status).toBe(404);
  expect((await app.http('DELETE', `/prod/api/incidents/${id}`, { token: other })).status).toBe(404);
  expect((await app.http('GET', `/prod/api/incidents/${id}/notes`, { token: other })).status).toBe(404);
  expect((await app.http('POST', `/prod/api/incidents/${id}/notes`, { token: other, body: { body: 'x' } })).status).toBe(404);
  expect((await app.http('GET', `/prod/api/incidents?q=${encodeURIComponent('Tenant A only')}`, { token: other })).body.total).toBe(0);
  expect((await getIncident(app, jane, id)).state).toBe('new');
});

test('a retried create with the same Idempotency-Key makes one incident; another body with it is 422', async () => {
  const headers = { 'idempotency-key': `inc-create-${app.tenant}` };
  const body = { short_description: 'Idempotent incident' };
  const [a, b] = await Promise.all([1, 2].map(() => app.http('POST', '/prod/api/incidents', { token: jane, body, headers })));
  expect([a.status, b.status]).toEqual([201, 201]);
  expect(a.body.id).toBe(b.body.id);
  const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM incidents WHERE tenant_id = $1 AND short_description = 'Idempotent incident'`, [app.tenant]);
  expect(rows[0].n).toBe(1);
  const reused = await app.http('POST', '/prod/api/incidents', { token: jane, body: { short_description: 'Something else' }, headers });
  expect(reused.status).toBe(422);
  expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
});

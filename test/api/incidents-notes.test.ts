import { startTestApp, type TestApp } from '../support/app';
import { createIncident, getIncident } from '../support/incidents';

/** Work notes: exact counts under concurrent writes, listing, retries, and soft delete with its role check. */
let app: TestApp;
let sre: string;

beforeAll(async () => {
  app = await startTestApp();
  sre = await app.token('sam@example.com', { roles: ['sre'] });
});
afterAll(() => app.close());

test('20 notes sent at once are all kept and counted exactly', async () => {
  const { id } = await createIncident(app, sre, { short_description: 'Noisy incident' });
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body: { body: `Update ${i}` } })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
  expect((await getIncident(app, sre, id)).work_notes_count).toBe(20);
  const listed = (await app.http('GET', `/prod/api/incidents/${id}/notes?limit=200`, { token: sre })).body;
  expect(listed.total).toBe(20);
  expect(listed.data.map((n: { body: string }) => n.body).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `Update ${i}`).sort());
  const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.note'`, [app.tenant, id]);
  expect(rows[0].n).toBe(20);
});

test('notes through PATCH work_note and POST …/notes racing each other still count exactly', async () => {
  const { id } = await createIncident(app, sre, { short_description: 'Mixed note writers' });
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? app.http('PATCH', `/prod/api/incidents/${id}`, { token: sre, body: { work_note: `patch ${i}`, assigned_to: `person${i}@example.com` } })
        : app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body: { body: `post ${i}` } }),
    ),
  );
  expect(answers.map((a) => a.status).sort()).toEqual([...Array(10).fill(200), ...Array(10).fill(201)]);
  const incident = await getIncident(app, sre, id);
  expect(incident.work_notes_count).toBe(20);
  expect(incident.version).toBe(21);
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM incident_notes WHERE tenant_id = $1 AND incident_id = $2', [app.tenant, id]);
  expect(rows[0].n).toBe(20);
});

test('notes list oldest first, by cursor and by page', async () => {
  const { id } = await createIncident(app, sre, { short_description: 'Paged notes' });
  for (let i = 0; i < 5; i++) await app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body: { body: `n${i}` } });
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: Array<{ body: string }>; next_cursor: string | null; total: number } = (
      await app.http('GET', `/prod/api/incidents/${id}/notes?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: sre })
    ).body;
    expect(page.total).toBe(5);
    seen.push(...page.data.map((n) => n.body));
    cursor = page.next_cursor;
  } while (cursor);
  expect(seen).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
  const stella = (await app.http('GET', `/api/v1/incidents/${id}/notes?page=2&pageSize=2`, { token: sre })).body;
  expect(stella.data.map((n: { body: string }) => n.body)).toEqual(['n2', 'n3']);
  expect(stella.meta.pagination).toMatchObject({ page: 2, pageSize: 2, totalItems: 5, totalPages: 3, hasNext: true, hasPrevious: true });
});

test('a note retried with the same Idempotency-Key is added once and answered the same', async () => {
  const { id } = await createIncident(app, sre, { short_description: 'Retried note' });
  const headers = { 'idempotency-key': `note-${id}` };
  const body = { body: 'Failover complete' };
  const answers = await Promise.all([1, 2, 3].map(() => app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body, headers })));
  expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
  expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
  expect((await getIncident(app, sre, id)).work_notes_count).toBe(1);
});

describe('soft delete', () => {
  test('only super_admin and itsm_manager may delete (403 otherwise)', async () => {
    const { id } = await createIncident(app, sre, { short_description: 'Not yours to delete' });
    for (const roles of [['sre'], ['requester'], ['release-manager'], ['viewer']]) {
      const token = await app.token('someone@example.com', { roles });
      const res = await app.http('DELETE', `/prod/api/incidents/${id}`, { token });
      expect(res.status).toBe(403);
    }
    expect((await getIncident(app, sre, id)).id).toBe(id);
  });

  test('the row stays for audit; GET, PATCH, notes answer 404 and every list forgets it', async () => {
    const manager = await app.token('ivy@example.com', { roles: ['itsm_manager'] });
    const { id } = await createIncident(app, sre, { short_description: 'Duplicate of another incident zebracorn' });
    await app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body: { body: 'zebracorn note' } });
    const res = await app.http('DELETE', `/prod/api/incidents/${id}`, { token: manager });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    for (const [method, path] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['GET', '/notes'], ['POST', '/notes']] as const) {
      const body = method === 'PATCH' ? { state: 'in_progress' } : method === 'POST' ? { body: 'x' } : undefined;
      expect((await app.http(method, `/prod/api/incidents/${id}${path}`, { token: manager, body })).status).toBe(404);
    }
    const lists = [
      await app.http('GET', '/prod/api/incidents?limit=200', { token: sre }),
      await app.http('GET', '/prod/api/incidents?q=zebracorn', { token: sre }),
      await app.http('GET', '/api/v1/incidents?pageSize=100', { token: sre }),
    ];
    for (const list of lists) expect(list.body.data.map((i: { id: string }) => i.id)).not.toContain(id);
    expect(lists[1].body.total).toBe(0);
    const { rows } = await app.pool.query('SELECT deleted_at, deleted_by FROM incidents WHERE tenant_id = $1 AND id = $2', [app.tenant, id]);
    expect(rows[0]).toMatchObject({ deleted_at: expect.any(Date), deleted_by: 'ivy@example.com' });
    const audit = await app.pool.query(`SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.delete'`, [app.tenant, id]);
    expect(audit.rows).toEqual([{ actor: 'ivy@example.com', after: expect.objectContaining({ deleted: true }) }]);
  });

  test('super_admin may delete too, and the SLA clock stops', async () => {
    const admin = await app.token('root@example.com', { roles: ['super_admin'] });
    const { id } = await createIncident(app, sre, { short_description: 'Test incident created by mistake' });
    expect((await app.http('DELETE', `/prod/api/incidents/${id}`, { token: admin })).status).toBe(204);
    const handle = app.client.workflow.getHandle(`${app.tenant}:incident:${id}`);
    expect(await handle.result()).toEqual({ id, state: 'deleted' });
  });
});

test('past 1 MB of notes an incident stays writable and its newest notes searchable (the search text had no ceiling: every write answered 500)', async () => {
  const { id } = await createIncident(app, sre, { short_description: 'Chatty incident' });
  // Distinct words, so each note grows the search text by its full length: 60 notes of 20,000 characters.
  let serial = 0;
  const words = () => Array.from({ length: 2_200 }, () => `w${(serial++).toString(36).padStart(8, 'q')}`).join(' ').slice(0, 20_000);
  for (let i = 0; i < 60; i++) {
    const res = await app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body: { body: words() } });
    expect([i, res.status]).toEqual([i, 201]);
  }
  const { rows } = await app.pool.query('SELECT sum(length(body))::int AS chars FROM incident_notes WHERE tenant_id = $1 AND incident_id = $2', [app.tenant, id]);
  expect(rows[0].chars).toBeGreaterThan(1_100_000);
  const edit = await app.http('PATCH', `/prod/api/incidents/${id}`, { token: sre, body: { description: 'Still editable', work_note: 'newest note: zebracorn' } });
  expect(edit.status).toBe(200);
  const found = await app.http('GET', '/prod/api/incidents?q=zebracorn', { token: sre });
  expect(found.body.data.map((i: { id: string }) => i.id)).toEqual([id]);
});

import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { ask, createArticle, resolvedIncident } from '../support/knowledge';

/**
 * Incidents' resolution notes (written when an incident is resolved, shown on
 * it, cleared by a reopen) are what retrieval quotes of a past incident; and a
 * bulk-created incident is offered a resolution as a single create is.
 */
let app: TestApp;
let sre: string;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp();
  sre = await app.token('sam@example.com', { roles: ['sre'] });
  viewer = await app.token('val@example.com', { roles: ['viewer'] });
}, 60_000);
afterAll(() => app.close());

const patch = (id: string, body: Record<string, unknown>, prefix = '/prod/api') => app.http('PATCH', `${prefix}/incidents/${id}`, { token: sre, body });

test('resolution notes are written with the resolve, shown on the incident, and need a resolved incident', async () => {
  const created = await app.http('POST', '/prod/api/incidents', { token: sre, body: { short_description: 'Checkout 502s from the edge proxy' } });
  expect(created.body.resolution_notes).toBeNull();
  const id = created.body.id as string;
  // Not resolved yet: the notes are refused, in both dialects, naming where the incident stands.
  const early = await patch(id, { resolution_notes: 'Raised the proxy buffer size.' });
  expect(early.status).toBe(409);
  expect(early.body.error).toMatchObject({ code: 'INCIDENT_NOT_RESOLVED', details: { current_state: 'new' } });
  expect((await patch(id, { state: 'in_progress', resolution_notes: 'x' }, '/api/v1')).status).toBe(409);
  expect((await patch(id, { state: 'in_progress' })).status).toBe(200);
  const blank = await patch(id, { state: 'resolved', resolution_notes: '  ' });
  expect(blank.status).toBe(400);
  expect(blank.body.error.validation_errors).toEqual([expect.objectContaining({ field: 'resolution_notes' })]);

  const resolved = await patch(id, { state: 'resolved', resolution_notes: 'Raised the proxy buffer size to 16k; large cookies no longer overflow it.' });
  expect(resolved.status).toBe(200);
  expect(resolved.body).toMatchObject({ state: 'resolved', resolution_notes: 'Raised the proxy buffer size to 16k; large cookies no longer overflow it.' });
  expect((await app.http('GET', `/api/v1/incidents/${id}`, { token: viewer })).body.data.resolution_notes).toContain('16k');
  // A resolved incident's notes can be corrected; the audit trail keeps both.
  expect((await patch(id, { resolution_notes: 'Raised the proxy buffer size to 32k.' })).body.resolution_notes).toBe('Raised the proxy buffer size to 32k.');
  const { rows } = await app.pool.query(`SELECT before, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 AND action = 'incident.resolution' ORDER BY id`, [app.tenant, id]);
  expect(rows.map((r) => r.after.resolution_notes)).toEqual(['Raised the proxy buffer size to 16k; large cookies no longer overflow it.', 'Raised the proxy buffer size to 32k.']);
  // A reopen says the resolution did not hold: it is cleared.
  expect((await patch(id, { state: 'reopened' })).body).toMatchObject({ state: 'reopened', resolution_notes: null, resolved_at: null });
  // A close carries notes too.
  await patch(id, { state: 'in_progress' });
  await patch(id, { state: 'resolved', resolution_notes: 'Buffer at 32k and cookie size capped.' });
  expect((await patch(id, { state: 'closed', resolution_notes: 'Buffer at 32k; cookie size capped at 8k.' })).body).toMatchObject({ state: 'closed', resolution_notes: 'Buffer at 32k; cookie size capped at 8k.' });
});

test('the AI query and a new incident’s suggestion quote the resolution notes of a past incident, found by their words alone', async () => {
  // The fix's words ("heap", "Xmx") are only in the resolution notes, nowhere in the incident's description or work notes.
  const past = await resolvedIncident(
    app,
    sre,
    { short_description: 'Search indexer keeps dying overnight', description: 'The indexer pod is gone every morning.' },
    'The JVM ran out of heap while merging segments; we raised -Xmx to 4g and set the merge scheduler to one thread.',
  );
  const res = await ask(app, viewer, 'JVM out of heap while merging segments');
  expect(res.answered).toBe(true);
  expect(res.citations[0]).toMatchObject({ kind: 'incident', id: past.id });
  expect(res.answer).toContain('raised -Xmx to 4g');
  // A list search finds it by its resolution too.
  const list = await app.http('GET', '/prod/api/incidents?q=merge+scheduler', { token: viewer });
  expect(list.body.data.map((i: { id: string }) => i.id)).toContain(past.id);

  const next = await app.http('POST', '/prod/api/incidents', { token: sre, body: { short_description: 'Indexer out of heap merging segments again' } });
  expect(next.body.ai_suggested_resolution).toContain(past.id);
  expect(next.body.ai_suggested_resolution).toContain('raised -Xmx to 4g');
});

test('bulk-created incidents get ai_suggested_resolution as single creates do', async () => {
  const article = await createArticle(app, sre, {
    title: 'Kafka consumer lag after a rebalance storm',
    body: 'Set session.timeout.ms to 45000 and use cooperative sticky assignment so consumers stop rebalancing.',
    state: 'published',
  });
  const res = await app.http('POST', '/prod/api/incidents/bulk', {
    token: sre,
    body: {
      operation: 'create',
      records: [{ short_description: 'Kafka consumer lag growing after a rebalance storm' }, { short_description: 'Office coffee machine offline' }],
    },
  });
  expect(res.status).toBe(202);
  const job = await until(`bulk job ${res.body.id}`, async () => {
    const got = await app.http('GET', `/prod/api/incidents/bulk/${res.body.id}`, { token: sre });
    return got.body.status === 'completed' ? got.body : undefined;
  }, 60_000);
  expect(job).toMatchObject({ succeeded: 2, failed: 0 });
  const [kafka, coffee] = await Promise.all(job.results.map((r: { incident_id: string }) => app.http('GET', `/prod/api/incidents/${r.incident_id}`, { token: viewer })));
  expect(kafka.body.ai_suggested_resolution).toContain(article.id);
  expect(kafka.body.ai_suggested_resolution).toContain('cooperative sticky assignment');
  expect(coffee.body.ai_suggested_resolution).toBeNull();
  // A bulk update can resolve with notes, as a PATCH can.
  const bulkResolve = await app.http('POST', '/prod/api/incidents/bulk', {
    token: sre,
    body: { operation: 'update', records: [{ id: kafka.body.id, state: 'in_progress' }] },
  });
  await until('bulk start', async () => ((await app.http('GET', `/prod/api/incidents/bulk/${bulkResolve.body.id}`, { token: sre })).body.status === 'completed' ? true : undefined), 60_000);
  const resolve = await app.http('POST', '/prod/api/incidents/bulk', {
    token: sre,
    body: { operation: 'update', ids: [kafka.body.id], fields: { state: 'resolved', resolution_notes: 'Cooperative sticky assignment rolled out.' } },
  });
  expect(resolve.status).toBe(202);
  await until('bulk resolve', async () => ((await app.http('GET', `/prod/api/incidents/bulk/${resolve.body.id}`, { token: sre })).body.status === 'completed' ? true : undefined), 60_000);
  expect((await app.http('GET', `/prod/api/incidents/${kafka.body.id}`, { token: viewer })).body).toMatchObject({ state: 'resolved', resolution_notes: 'Cooperative sticky assignment rolled out.' });
});

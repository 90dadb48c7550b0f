import { startTestApp, type TestApp } from '../support/app';
import { createArticle } from '../support/knowledge';

/** The knowledge base over HTTP: CRUD and versions in both dialects, visibility by role, search with a misspelt word. */
let app: TestApp;
let writer: string;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  writer = await app.token('kim@example.com', { roles: ['sre'] });
  viewer = await app.token('vic@example.com', { roles: ['viewer'] });
});
afterAll(() => app.close());

const K8S = {
  title: 'Kubernetes pods stuck in CrashLoopBackOff',
  body: '## Symptom\nPods restart in a loop.\n\n## Fix\nCheck the liveness probe and raise its initial delay.',
  category: 'platform',
  tags: ['Kubernetes', 'pods', 'kubernetes'],
  state: 'published' as const,
};

test('StackFlow: create (201, Location), get, edit (a new version keeping the previous body), versions, delete', async () => {
  const res = await app.http('POST', '/prod/api/knowledge/articles', { token: writer, body: K8S });
  expect(res.status).toBe(201);
  const a = res.body;
  expect(a.id).toMatch(/^KB\d{7}$/);
  expect(res.headers.get('location')).toBe(`/prod/api/knowledge/articles/${a.id}`);
  expect(a).toMatchObject({ number: a.id, title: K8S.title, body: K8S.body, category: 'platform', tags: ['kubernetes', 'pods'], state: 'published', version: 1, created_by: 'kim@example.com' });
  expect(a.published_at).not.toBeNull();
  expect((await app.http('GET', `/prod/api/knowledge/articles/${a.id}`, { token: viewer })).body).toMatchObject({ id: a.id, version: 1 });

  const edited = await app.http('PATCH', `/prod/api/knowledge/articles/${a.id}`, { token: writer, body: { body: 'Rewritten: raise initialDelaySeconds.' } });
  expect(edited.status).toBe(200);
  expect(edited.body).toMatchObject({ version: 2, body: 'Rewritten: raise initialDelaySeconds.', title: K8S.title });

  const versions = await app.http('GET', `/prod/api/knowledge/articles/${a.id}/versions`, { token: viewer });
  expect(versions.status).toBe(200);
  expect(versions.body.total).toBe(2);
  expect(versions.body.data.map((v: { version: number; body: string }) => [v.version, v.body])).toEqual([
    [2, 'Rewritten: raise initialDelaySeconds.'],
    [1, K8S.body],
  ]);
  const page = await app.http('GET', `/prod/api/knowledge/articles/${a.id}/versions?limit=1`, { token: viewer });
  expect(page.body).toMatchObject({ total: 2, next_cursor: expect.any(String), data: [{ version: 2 }] });
  const next = await app.http('GET', `/prod/api/knowledge/articles/${a.id}/versions?limit=1&cursor=${page.body.next_cursor}`, { token: viewer });
  expect(next.body).toMatchObject({ next_cursor: null, data: [{ version: 1 }] });

  const { rows } = await app.pool.query('SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id', [app.tenant, a.id]);
  expect(rows.map((r) => r.action)).toEqual(['knowledge.create', 'knowledge.update']);

  expect((await app.http('DELETE', `/prod/api/knowledge/articles/${a.id}`, { token: writer })).status).toBe(204);
  expect((await app.http('GET', `/prod/api/knowledge/articles/${a.id}`, { token: writer })).status).toBe(404);
  expect((await app.http('DELETE', `/prod/api/knowledge/articles/${a.id}`, { token: writer })).status).toBe(404);
});

test('Stella: the same resource in the envelope, paged by number; /prod/api/v1 answers as /prod/api', async () => {
  const res = await app.http('POST', '/api/v1/knowledge/articles', { token: writer, body: { title: 'Stella article', body: 'Text' } });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ success: true, data: { title: 'Stella article', state: 'draft', tags: [], category: null, published_at: null } });
  const id = res.body.data.id;
  const got = await app.http('GET', `/api/v1/knowledge/articles/${id}`, { token: writer });
  expect(got.body).toMatchObject({ success: true, data: { id } });
  const patched = await app.http('PATCH', `/api/v1/knowledge/articles/${id}`, { token: writer, body: { state: 'published' } });
  expect(patched.body.data).toMatchObject({ state: 'published', version: 2, published_at: expect.any(String) });
  const list = await app.http('GET', '/api/v1/knowledge/articles?pageSize=1', { token: writer });
  expect(list.status).toBe(200);
  expect(list.body.meta.pagination).toMatchObject({ page: 1, pageSize: 1 });
  const versions = await app.http('GET', `/api/v1/knowledge/articles/${id}/versions`, { token: writer });
  expect(versions.body).toMatchObject({ success: true, data: [{ version: 2 }, { version: 1 }] });
  expect((await app.http('GET', `/prod/api/v1/knowledge/articles/${id}`, { token: writer })).body).toMatchObject({ id, version: 2 });
  const missing = await app.http('GET', '/api/v1/knowledge/articles/KB9999999', { token: writer });
  expect(missing.status).toBe(404);
  expect(missing.body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
  expect((await app.http('DELETE', `/api/v1/knowledge/articles/${id}`, { token: writer })).status).toBe(204);
});

test('bad input: 400 with the field named, in both dialects; unknown and read-only fields; a forged cursor', async () => {
  const blank = await app.http('POST', '/prod/api/knowledge/articles', { token: writer, body: { title: '  ', body: 'x', state: 'final' } });
  expect(blank.status).toBe(400);
  expect(blank.body.error.validation_errors.map((e: { field: string }) => e.field).sort()).toEqual(['state', 'title']);
  const unknown = await app.http('POST', '/api/v1/knowledge/articles', { token: writer, body: { title: 't', body: 'b', titel: 'x', version: 3 } });
  expect(unknown.status).toBe(400);
  expect(unknown.body.error.validationErrors).toEqual(
    expect.arrayContaining([expect.objectContaining({ field: 'titel', code: 'unknown_field' }), expect.objectContaining({ field: 'version', code: 'read_only' })]),
  );
  const tooMany = await app.http('POST', '/prod/api/knowledge/articles', { token: writer, body: { title: 't', body: 'b', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } });
  expect(tooMany.status).toBe(400);
  expect((await app.http('PATCH', '/prod/api/knowledge/articles/KB0000001', { token: writer, body: { body: '' } })).status).toBe(400);
  const empty = await app.http('PATCH', '/prod/api/knowledge/articles/KB0000001', { token: writer, body: {} });
  expect(empty.status).toBe(400);
  expect(empty.body.error.validation_errors[0].message).toBe('send at least one field to change');
  expect((await app.http('PATCH', '/prod/api/knowledge/articles/nope', { token: writer, body: { body: 'x' } })).status).toBe(404);
  const cursor = await app.http('GET', '/prod/api/knowledge/articles?cursor=garbage', { token: writer });
  expect(cursor.status).toBe(400);
  expect(cursor.body.error.code).toBe('INVALID_CURSOR');
  expect((await app.http('GET', '/prod/api/knowledge/articles?limit=201', { token: writer })).status).toBe(400);
  expect((await app.http('GET', '/prod/api/knowledge/articles?sort=title', { token: writer })).status).toBe(400);
});

test('permissions: a viewer reads published articles only and writes none; a token without knowledge:read is refused', async () => {
  const draft = await createArticle(app, writer, { title: 'Unreleased runbook for vault rotation', body: 'Rotate the vault token.', state: 'draft' });
  const published = await createArticle(app, writer, { title: 'Released runbook for vault rotation', body: 'Rotate the vault token.', state: 'published' });
  const retired = await createArticle(app, writer, { title: 'Old runbook for vault rotation', body: 'Rotate the vault token.', state: 'retired' });
  const ids = (body: { data: Array<{ id: string }> }) => body.data.map((a) => a.id);

  const seen = await app.http('GET', '/prod/api/knowledge/articles?q=vault&limit=200', { token: viewer });
  expect(ids(seen.body)).toEqual([published.id]);
  expect(ids((await app.http('GET', '/prod/api/knowledge/articles?state=draft', { token: viewer })).body)).toEqual([]);
  expect((await app.http('GET', `/prod/api/knowledge/articles/${draft.id}`, { token: viewer })).status).toBe(404);
  expect((await app.http('GET', `/prod/api/knowledge/articles/${retired.id}/versions`, { token: viewer })).status).toBe(404);
  expect(ids((await app.http('GET', '/prod/api/knowledge/articles?q=vault&limit=200', { token: writer })).body).sort()).toEqual([draft.id, published.id, retired.id].sort());

  // Published after a draft: a viewer sees the published version, not the draft before it.
  await app.http('PATCH', `/prod/api/knowledge/articles/${draft.id}`, { token: writer, body: { state: 'published', body: 'Final text.' } });
  const versions = await app.http('GET', `/prod/api/knowledge/articles/${draft.id}/versions`, { token: viewer });
  expect(versions.body.data.map((v: { version: number; state: string }) => [v.version, v.state])).toEqual([[2, 'published']]);

  const refused = await app.http('POST', '/prod/api/knowledge/articles', { token: viewer, body: { title: 't', body: 'b' } });
  expect(refused.status).toBe(403);
  expect(refused.body.error.details.required).toBe('knowledge:write');
  expect((await app.http('PATCH', `/prod/api/knowledge/articles/${published.id}`, { token: viewer, body: { body: 'x' } })).status).toBe(403);
  expect((await app.http('DELETE', `/prod/api/knowledge/articles/${published.id}`, { token: viewer })).status).toBe(403);
  const registrar = await app.token('reg@example.com', { roles: ['agent-registrar'] });
  const noRead = await app.http('GET', '/api/v1/knowledge/articles', { token: registrar });
  expect(noRead.status).toBe(403);
  expect(noRead.body.error.details.required).toBe('knowledge:read');
});

test('search: a misspelt word still finds the article, ranked first; filters by category and tag; cursor pages with total', async () => {
  const other = await app.token('kim@example.com', { roles: ['sre'], tenant: `search-${app.tenant}` });
  const k8s = await createArticle(app, other, K8S);
  await createArticle(app, other, { title: 'Postgres vacuum runs long', body: 'Autovacuum settings for big tables.', category: 'database', tags: ['postgres'], state: 'published' });
  await createArticle(app, other, { title: 'Pods and nodes glossary', body: 'What a pod is, in a cluster.', category: 'platform', tags: ['pods'], state: 'published' });

  // Full text alone finds nothing for "kubernets"; trigram similarity does.
  const typo = await app.http('GET', '/prod/api/knowledge/articles?q=kubernets', { token: other });
  expect(typo.status).toBe(200);
  expect(typo.body.data.map((a: { id: string }) => a.id)).toEqual([k8s.id]);
  const twoWords = await app.http('GET', `/api/v1/knowledge/articles?q=${encodeURIComponent('crashloop kubernets')}`, { token: other });
  expect(twoWords.body.data[0].id).toBe(k8s.id);

  expect((await app.http('GET', '/prod/api/knowledge/articles?category=database', { token: other })).body.total).toBe(1);
  const tagged = await app.http('GET', '/prod/api/knowledge/articles?tag=PODS&limit=1', { token: other });
  expect(tagged.body).toMatchObject({ total: 2, next_cursor: expect.any(String) });
  const rest = await app.http('GET', `/prod/api/knowledge/articles?tag=pods&limit=1&cursor=${tagged.body.next_cursor}`, { token: other });
  expect(rest.body).toMatchObject({ total: 2, next_cursor: null });
  expect(rest.body.data[0].id).not.toBe(tagged.body.data[0].id);
  // Another tenant's articles are not there.
  expect((await app.http('GET', '/prod/api/knowledge/articles?q=kubernets', { token: writer })).body.data).toEqual([]);
});

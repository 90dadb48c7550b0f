import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { ask, createArticle, resolvedIncident } from '../support/knowledge';

/**
 * POST /ai/query: answers cite the records they come from; a caller never
 * gets a passage from another tenant or from a record their role cannot read;
 * nothing close enough is "no answer"; a chat model's answer stands only with
 * valid citations. New incidents get a suggested resolution from the same retrieval.
 */
let app: TestApp;
let sre: string;
let viewer: string;
let articleOnly: string;
let redis: { id: string };
let draft: { id: string };
let incident: { id: string };

const REDIS = {
  title: 'Redis cache miss rate above 90% after a deploy',
  body: '## Cause\nThe deploy changed the key prefix.\n\n## Fix\nRun cache-warm --all, then keep the old key prefix for one release.',
  category: 'cache',
  state: 'published' as const,
};

beforeAll(async () => {
  app = await startTestApp();
  sre = await app.token('sam@example.com', { roles: ['sre'] });
  viewer = await app.token('val@example.com', { roles: ['viewer'] });
  articleOnly = await app.token('kai@example.com', { roles: [], permissions: ['knowledge:read'] });
  redis = await createArticle(app, sre, REDIS);
  draft = await createArticle(app, sre, { title: 'Zookeeper quorum loss runbook', body: 'Restart the zookeeper followers one at a time.', state: 'draft' });
  incident = await resolvedIncident(
    app,
    sre,
    { short_description: 'Payments API timeouts to the card processor', description: 'Card authorisations time out after 30 seconds.' },
    'The processor rotated its IP range; we updated the egress firewall allow list and timeouts stopped.',
  );
  // Another tenant's record that matches the same questions word for word.
  const otherTenant = await app.token('sam@example.com', { roles: ['sre'], tenant: `other-${app.tenant}` });
  await createArticle(app, otherTenant, { ...REDIS, title: 'OTHER TENANT Redis cache miss rate above 90%' });
  await createArticle(app, otherTenant, { title: 'Payments API card processor timeouts', body: 'OTHER TENANT: egress firewall.', state: 'published' });
}, 60_000);
afterAll(() => app.close());

test('an answer from the knowledge base: cited by id, kind and link, with a confidence over the threshold', async () => {
  const res = await ask(app, viewer, 'How do we fix a Redis cache miss rate above 90%?');
  expect(res).toMatchObject({ answered: true, provider: 'extractive', model: null, note: null });
  expect(res.confidence).toBeGreaterThanOrEqual(res.threshold);
  expect(res.citations[0]).toMatchObject({ marker: 1, kind: 'article', id: redis.id, title: REDIS.title, link: `/prod/api/knowledge/articles/${redis.id}` });
  expect(res.answer).toContain('[1]');
  expect(res.answer).toContain(redis.id);
  expect(res.answer).toContain('cache-warm --all');
  // The link is a path the caller can follow.
  expect((await app.http('GET', res.citations[0].link, { token: viewer })).body).toMatchObject({ id: redis.id });
});

test('an incident’s resolution note answers a question; the Stella dialect links Stella paths', async () => {
  const res = await app.http('POST', '/api/v1/ai/query', { token: viewer, body: { question: 'card processor timeouts in payments', limit: 3 } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ success: true, data: { answered: true } });
  expect(res.body.data.citations[0]).toMatchObject({ kind: 'incident', id: incident.id, link: `/api/v1/incidents/${incident.id}` });
  expect(res.body.data.answer).toContain('egress firewall allow list');
  expect(res.body.data.citations.length).toBeLessThanOrEqual(3);
});

test('a misspelt question still finds its article', async () => {
  const res = await ask(app, viewer, 'redis cahce mis rate');
  expect(res.answered).toBe(true);
  expect(res.citations[0].id).toBe(redis.id);
});

test('permission filter: never another tenant’s passage, nor one from a record the role cannot read', async () => {
  for (const question of ['Redis cache miss rate above 90%', 'payments card processor timeouts egress firewall']) {
    const res = await ask(app, sre, question, 20);
    expect(res.citations.map((c) => c.title + c.excerpt).join(' ')).not.toContain('OTHER TENANT');
    expect(res.answer ?? '').not.toContain('OTHER TENANT');
  }
  // Without incident:read the incident is never retrieved: the only matching passage left is none.
  const noIncidents = await ask(app, articleOnly, 'card processor timeouts in payments egress firewall');
  expect(noIncidents.citations.filter((c) => c.kind === 'incident')).toEqual([]);
  expect(noIncidents).toMatchObject({ answered: false, answer: null, citations: [] });
  // A draft is the writers’: a viewer never gets it, a writer does.
  const viewerAsks = await ask(app, viewer, 'zookeeper quorum loss');
  expect(viewerAsks.citations.map((c) => c.id)).not.toContain(draft.id);
  expect(viewerAsks.answered).toBe(false);
  expect((await ask(app, sre, 'zookeeper quorum loss')).citations[0]).toMatchObject({ id: draft.id });
});

test('a configuration item answers what it is and who owns it; callers without cmdb:read never get it', async () => {
  const created = await app.http('POST', '/prod/api/cmdb/cis', {
    token: sre,
    body: { name: 'ledger-queue', class: 'queue', environment: 'production', owner_group: 'Settlement Team', description: 'Kafka topic carrying settlement ledger postings' },
  });
  expect(created.status).toBe(201);
  const ci = created.body;
  const res = await ask(app, viewer, 'Who owns the settlement ledger queue?');
  expect(res.answered).toBe(true);
  expect(res.citations[0]).toMatchObject({ kind: 'ci', id: ci.id, link: `/prod/api/cmdb/cis/${ci.id}` });
  expect(res.answer).toContain('Settlement Team');
  expect((await app.http('GET', res.citations[0].link, { token: viewer })).body).toMatchObject({ id: ci.id });
  const noCmdb = await ask(app, articleOnly, 'Who owns the settlement ledger queue?');
  expect(noCmdb.citations.filter((c) => c.kind === 'ci')).toEqual([]);
});

test('"no answer" when nothing scores above the threshold: no citations, never an invented answer', async () => {
  const res = await ask(app, viewer, 'What is the airspeed velocity of an unladen swallow?');
  expect(res).toMatchObject({ answered: false, answer: null, citations: [], provider: 'extractive' });
  expect(res.confidence).toBeLessThan(res.threshold);
  expect(res.note).toMatch(/No answer/);
  // Only stop words: nothing to match at all.
  expect(await ask(app, viewer, 'how do I?')).toMatchObject({ answered: false, confidence: 0, citations: [] });
});

test('bad input and missing permission: 400 naming the field, 403 naming knowledge:read, in both dialects', async () => {
  const missing = await app.http('POST', '/prod/api/ai/query', { token: viewer, body: { limit: 5 } });
  expect(missing.status).toBe(400);
  expect(missing.body.error.validation_errors).toEqual([expect.objectContaining({ field: 'question', code: 'required' })]);
  const bad = await app.http('POST', '/api/v1/ai/query', { token: viewer, body: { question: 'x', limit: 0, extra: true } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['extra', 'limit']);
  expect((await app.http('POST', '/prod/api/ai/query', { token: viewer, body: { question: ' ' } })).status).toBe(400);
  expect((await app.http('POST', '/prod/api/ai/query', { token: viewer, raw: 'not json', headers: { 'content-type': 'application/json' } })).status).toBe(400);
  const registrar = await app.token('reg@example.com', { roles: ['agent-registrar'] });
  const refused = await app.http('POST', '/prod/api/v1/ai/query', { token: registrar, body: { question: 'redis' } });
  expect(refused.status).toBe(403);
  expect(refused.body.error.details.required).toBe('knowledge:read');
});

test('a new incident gets a suggested resolution from the knowledge base, citing the article', async () => {
  const res = await app.http('POST', '/prod/api/incidents', {
    token: sre,
    body: { short_description: 'Redis cache miss rate above 90% since the deploy', description: 'ElastiCache misses everywhere.' },
  });
  expect(res.status).toBe(201);
  expect(res.body.ai_suggested_resolution).toContain(redis.id);
  expect(res.body.ai_suggested_resolution).toContain('cache-warm --all');
  expect((await app.http('GET', `/prod/api/incidents/${res.body.id}`, { token: viewer })).body.ai_suggested_resolution).toBe(res.body.ai_suggested_resolution);
  const unrelated = await app.http('POST', '/prod/api/incidents', { token: sre, body: { short_description: 'Office coffee machine offline' } });
  expect(unrelated.body.ai_suggested_resolution).toBeNull();
});

describe('with a chat model (an OpenAI-compatible endpoint)', () => {
  let server: Server;
  let chatApp: TestApp;
  let reply = '';
  const prompts: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const parsed = JSON.parse(body);
        prompts.push(`${req.url} ${req.headers.authorization} ${parsed.model} ${parsed.messages.map((m: { content: string }) => m.content).join('\n')}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    chatApp = await startTestApp({ worker: false, env: { AI_BASE_URL: `http://127.0.0.1:${port}/v1`, AI_MODEL: 'local-test', AI_API_KEY: 'sk-test' } });
    const writer = await chatApp.token('sam@example.com', { roles: ['sre'] });
    await createArticle(chatApp, writer, REDIS);
  }, 60_000);
  afterAll(async () => {
    await chatApp?.close();
    await new Promise((resolve) => server.close(resolve));
  });

  test('the model writes the answer from the passages and cites them', async () => {
    reply = 'Warm the cache with cache-warm --all and keep the old key prefix [1].';
    const token = await chatApp.token('val@example.com', { roles: ['viewer'] });
    const res = await ask(chatApp, token, 'How do we fix a Redis cache miss rate above 90%?');
    expect(res).toMatchObject({ answered: true, provider: 'chat', model: 'local-test', answer: reply, note: null });
    expect(res.citations[0]).toMatchObject({ marker: 1, kind: 'article' });
    const prompt = prompts[prompts.length - 1];
    expect(prompt).toContain('/v1/chat/completions Bearer sk-test local-test');
    expect(prompt).toContain('[1] article');
    expect(prompt).toContain('cache-warm --all');
  });

  test('an answer without a valid citation is refused: the extractive answer with a note', async () => {
    const token = await chatApp.token('val@example.com', { roles: ['viewer'] });
    for (const [text, why] of [
      ['Just restart everything.', /cites none of the passages/],
      ['Restart Redis [7].', /\[7\].*not among/],
    ] as const) {
      reply = text;
      const res = await ask(chatApp, token, 'How do we fix a Redis cache miss rate above 90%?');
      expect(res).toMatchObject({ answered: true, provider: 'extractive', model: null });
      expect(res.answer).not.toContain(text);
      expect(res.answer).toContain('[1]');
      expect(res.note).toMatch(why);
    }
  });

  test('"no answer" is decided before the model is asked', async () => {
    const before = prompts.length;
    const token = await chatApp.token('val@example.com', { roles: ['viewer'] });
    expect(await ask(chatApp, token, 'unladen swallow airspeed')).toMatchObject({ answered: false, citations: [] });
    expect(prompts.length).toBe(before);
  });
});

describe('with an embedding model (an OpenAI-compatible /embeddings endpoint)', () => {
  let server: Server;
  let embedApp: TestApp;
  let failing = false;
  const inputs: string[][] = [];
  // A model that knows one thing: text about replicas lagging means the same as "my read copy is stale".
  const vectorOf = (text: string) => (/replica|read copy/i.test(text) ? [1, 0] : [0, 1]);
  let lagging: { id: string };
  let rotation: { id: string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        if (failing) {
          res.statusCode = 503;
          return res.end('{}');
        }
        const parsed = JSON.parse(body) as { model: string; input: string[] };
        inputs.push(parsed.input);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', model: parsed.model, data: parsed.input.map((text, index) => ({ object: 'embedding', index, embedding: vectorOf(text) })) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    embedApp = await startTestApp({ worker: false, env: { AI_BASE_URL: `http://127.0.0.1:${port}/v1`, AI_EMBEDDING_MODEL: 'local-embed' } });
    const writer = await embedApp.token('sam@example.com', { roles: ['sre'] });
    // Both say "database stale"; only one is about replicas, which the question means without saying.
    rotation = await createArticle(embedApp, writer, { title: 'Database credentials stale after rotation', body: 'Restart the pods so the database password is read again.', state: 'published' });
    lagging = await createArticle(embedApp, writer, { title: 'Database replica lag', body: 'A lagging replica serves stale rows; fail reads over to the primary.', state: 'published' });
    await createArticle(embedApp, writer, { title: 'Database replica draft', body: 'Replica notes nobody published.', state: 'draft' });
  }, 60_000);
  afterAll(async () => {
    await embedApp?.close();
    await new Promise((resolve) => server.close(resolve));
  });

  test('passages are reranked by meaning, and the model sees only passages the caller may read', async () => {
    const token = await embedApp.token('val@example.com', { roles: ['viewer'] });
    const res = await ask(embedApp, token, 'my read copy of the database is stale');
    expect(res).toMatchObject({ answered: true, ranking: 'words+meaning', note: null });
    expect(res.citations[0].id).toBe(lagging.id);
    expect(res.citations.map((c) => c.id)).toContain(rotation.id);
    expect(res.citations[0].score).toBeGreaterThan(res.citations.find((c) => c.id === rotation.id)!.score);
    const sent = inputs.at(-1)!;
    expect(sent[0]).toBe('my read copy of the database is stale');
    expect(sent.join('\n')).not.toContain('nobody published');
  });

  test('kept vectors find a record by meaning alone: a question sharing no word with it, within what the caller may read', async () => {
    const writer = await embedApp.token('sam@example.com', { roles: ['sre'] });
    // Not one word (nor a near miss) of the question below is in these; only the model knows "replica" means a read copy.
    const drift = await createArticle(embedApp, writer, { title: 'Replica drift', body: 'Followers trail the leader; promote a fresh follower.', state: 'published' });
    const hidden = await createArticle(embedApp, writer, { title: 'Replica runbook draft', body: 'Unpublished steps.', state: 'draft' });
    const past = await resolvedIncident(embedApp, writer, { short_description: 'Nightly report empty' }, 'Its replica trailed the leader by hours; we pointed it at the primary.');
    // Each write keeps its vector once its transaction has committed (in the background: polled).
    const kept = await until('vectors kept', async () => {
      const { rows } = await embedApp.pool.query(`SELECT kind, record_id, model, cardinality(embedding) AS dims FROM ai_embeddings WHERE tenant_id = $1 AND record_id = ANY($2) ORDER BY kind, record_id`, [
        embedApp.tenant,
        [drift.id, hidden.id, past.id],
      ]);
      return rows.length === 3 ? rows : undefined;
    });
    expect(kept).toEqual(
      expect.arrayContaining([
        { kind: 'article', record_id: drift.id, model: 'local-embed', dims: 2 },
        { kind: 'incident', record_id: past.id, model: 'local-embed', dims: 2 },
      ]),
    );
    const question = 'why is my read copy outdated';
    const viewer = await embedApp.token('val@example.com', { roles: ['viewer'] });
    const res = await ask(embedApp, viewer, question, 10);
    expect(res).toMatchObject({ answered: true, ranking: 'words+meaning' });
    const cited = res.citations.map((c) => c.id);
    expect(cited).toEqual(expect.arrayContaining([drift.id, past.id]));
    expect(cited).not.toContain(hidden.id);
    // The words did not retrieve them, so the model was not asked for their vectors at query time: the kept ones found them.
    expect(inputs.at(-1)![0]).toBe(question);
    expect(inputs.at(-1)!.join('\n')).not.toMatch(/Followers trail|trailed the leader/);
    // Without incident:read the incident's kept vector is never compared; a writer also gets the draft.
    const articlesOnly = await embedApp.token('kai@example.com', { roles: [], permissions: ['knowledge:read'] });
    expect((await ask(embedApp, articlesOnly, question, 10)).citations.map((c) => c.kind)).not.toContain('incident');
    expect((await ask(embedApp, writer, question, 10)).citations.map((c) => c.id)).toContain(hidden.id);
    // An edit moves the article away from the question: its old vector no longer counts, its new one answers.
    await embedApp.http('PATCH', `/prod/api/knowledge/articles/${drift.id}`, { token: writer, body: { title: 'Leader drift', body: 'Followers trail the leader.' } });
    await eventually(async () => expect((await ask(embedApp, viewer, question, 10)).citations.map((c) => c.id)).not.toContain(drift.id));
  });

  test('a failing embedding model leaves the words’ ranking and says so', async () => {
    failing = true;
    try {
      const token = await embedApp.token('val@example.com', { roles: ['viewer'] });
      const res = await ask(embedApp, token, 'database replica lag');
      expect(res).toMatchObject({ answered: true, ranking: 'words', note: expect.stringContaining('HTTP 503') });
      expect(res.citations[0].id).toBe(lagging.id);
    } finally {
      failing = false;
    }
  });
});

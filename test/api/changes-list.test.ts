import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange, standardChange, step } from '../support/changes';

/** GET /changes: filters, full text, sorting, and both pagination styles over the same rows. */
let app: TestApp;
let token: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  app = await startTestApp();
  token = await app.token('alice@example.com');
  ids.aurora = (await createChange(app, token, auroraChange({ risk: 'medium' }))).id;
  ids.logs = (await createChange(app, token, standardChange({ risk: 'low' }))).id;
  ids.dns = (await createChange(app, token, {
    type: 'emergency',
    short_description: 'Fail over production DNS to the secondary provider',
    backout_plan: 'Point the NS records back at the primary provider',
    assignment_group: 'Network',
    risk: 'high',
  })).id;
  ids.docs = (await createChange(app, token, standardChange({ short_description: 'Publish the runbook index', assignment_group: 'Docs', risk: 'low' }))).id;
  ids.cache = (await createChange(app, token, auroraChange({ short_description: 'Resize the Redis cache cluster', assignment_group: 'Network', risk: 'medium' }))).id;
  await step(app, token, 'POST', `${ids.logs}/submit`);
  await step(app, token, 'POST', `${ids.dns}/submit`);
});
afterAll(() => app.close());

const list = async (query: string) => {
  const res = await app.http('GET', `/prod/api/changes?${query}`, { token });
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${res.text}`);
  return res.body as { data: Array<{ id: string; risk_score: number; created_at: string }>; next_cursor: string | null; total: number };
};
const idsOf = (body: { data: Array<{ id: string }> }) => body.data.map((c) => c.id).sort();

test('filters by state, type, risk, risk_level and assignment_group (comma lists allowed)', async () => {
  expect(idsOf(await list('state=scheduled'))).toEqual([ids.logs, ids.dns].sort());
  expect(idsOf(await list('state=draft&type=normal'))).toEqual([ids.aurora, ids.cache].sort());
  expect(idsOf(await list('type=standard,emergency'))).toEqual([ids.logs, ids.dns, ids.docs].sort());
  expect(idsOf(await list('risk=low'))).toEqual([ids.logs, ids.docs].sort());
  expect(idsOf(await list('assignment_group=Network'))).toEqual([ids.dns, ids.cache].sort());
  const all = await list('limit=200');
  for (const level of ['low', 'medium', 'high', 'critical']) {
    const expected = all.data.filter((c: any) => c.risk_level === level).map((c) => c.id).sort();
    expect(idsOf(await list(`risk_level=${level}`))).toEqual(expected);
  }
});

test('created_after / created_before bound the creation time', async () => {
  const all = (await list('sort=created_at&order=asc')).data;
  const pivot = all[2].created_at;
  expect(idsOf(await list(`created_after=${encodeURIComponent(pivot)}`))).toEqual(all.slice(3).map((c) => c.id).sort());
  expect(idsOf(await list(`created_before=${encodeURIComponent(pivot)}`))).toEqual(all.slice(0, 2).map((c) => c.id).sort());
});

test('q searches descriptions and plans (full text, stemmed)', async () => {
  expect(idsOf(await list('q=providers'))).toEqual([ids.dns]);
  expect(idsOf(await list('q=snapshot'))).toEqual([ids.aurora, ids.cache].sort());
  expect(idsOf(await list('q=redis+cache'))).toEqual([ids.cache]);
  expect((await list('q=nonexistentword')).total).toBe(0);
});

test('sorts by risk_score both ways, by the Stella "-field" form too', async () => {
  const asc = (await list('sort=risk_score&order=asc')).data.map((c) => c.risk_score);
  expect(asc).toEqual([...asc].sort((a, b) => a - b));
  const desc = (await app.http('GET', '/api/v1/changes?sort=-risk_score', { token })).body.data.map((c: any) => c.risk_score);
  expect(desc).toEqual([...asc].reverse());
  const bad = await app.http('GET', '/api/v1/changes?sort=short_description', { token });
  expect(bad.status).toBe(400);
  expect(bad.body.error.validationErrors[0].field).toBe('sort');
});

test('StackFlow cursors walk every row exactly once', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<typeof list>> = await list(`limit=2&sort=created_at&order=desc${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.total).toBe(5);
    expect(page.data.length).toBeLessThanOrEqual(2);
    seen.push(...page.data.map((c) => c.id));
    cursor = page.next_cursor;
    pages += 1;
  } while (cursor);
  expect(pages).toBe(3);
  expect([...seen].sort()).toEqual(Object.values(ids).sort());
  expect(new Set(seen).size).toBe(5);
});

test('Stella pages carry PaginationMeta', async () => {
  const first = (await app.http('GET', '/api/v1/changes?page=1&pageSize=2', { token })).body;
  expect(first.meta.pagination).toEqual({ page: 1, pageSize: 2, totalItems: 5, totalPages: 3, hasNext: true, hasPrevious: false });
  const last = (await app.http('GET', '/api/v1/changes?page=3&pageSize=2', { token })).body;
  expect(last.data).toHaveLength(1);
  expect(last.meta.pagination).toMatchObject({ page: 3, hasNext: false, hasPrevious: true });
});

test('limits are enforced: limit ≤ 200, pageSize ≤ 100; a forged cursor is 400', async () => {
  expect((await app.http('GET', '/prod/api/changes?limit=201', { token })).status).toBe(400);
  expect((await app.http('GET', '/api/v1/changes?pageSize=101', { token })).status).toBe(400);
  const forged = await app.http('GET', '/prod/api/changes?cursor=bm9wZQ', { token });
  expect(forged.status).toBe(400);
  expect(forged.body.error.code).toBe('INVALID_CURSOR');
  expect((await app.http('GET', '/prod/api/changes?state=sleeping', { token })).status).toBe(400);
});

test('the default page size is 25', async () => {
  const extra = await Promise.all(Array.from({ length: 22 }, (_, i) => createChange(app, token, standardChange({ short_description: `Bulk change ${i}` }))));
  expect(extra).toHaveLength(22);
  const page = await list('');
  expect(page.data).toHaveLength(25);
  expect(page.total).toBe(27);
  expect(page.next_cursor).toEqual(expect.any(String));
});

test('totals stay exact while they are cached: recounted after a create and after a transition, also past the last page', async () => {
  const drafts = async () => (await list('state=draft&limit=1')).total;
  const scheduled = async () => (await list('state=scheduled&limit=1')).total;
  const [draftsBefore, scheduledBefore, allBefore] = [await drafts(), await scheduled(), (await list('limit=1')).total];
  // Asked again with nothing written in between: the same answer (from the cached count).
  expect(await drafts()).toBe(draftsBefore);

  const { id } = await createChange(app, token, standardChange({ short_description: 'Counted while cached' }));
  expect(await drafts()).toBe(draftsBefore + 1);
  expect((await list('limit=1')).total).toBe(allBefore + 1);

  await step(app, token, 'POST', `${id}/submit`);
  expect(await drafts()).toBe(draftsBefore);
  expect(await scheduled()).toBe(scheduledBefore + 1);

  const past = await app.http('GET', '/api/v1/changes?page=999&pageSize=2', { token });
  expect(past.status).toBe(200);
  expect(past.body.data).toEqual([]);
  expect(past.body.meta.pagination).toMatchObject({ page: 999, totalItems: allBefore + 1, hasNext: false });
  const other = await app.token('olga@example.com', { tenant: `${app.tenant}-other` });
  expect((await app.http('GET', '/prod/api/changes?state=draft', { token: other })).body).toEqual({ data: [], next_cursor: null, total: 0 });
});

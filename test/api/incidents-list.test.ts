import { startTestApp, type TestApp } from '../support/app';
import { createIncident, walk } from '../support/incidents';

/** GET /incidents: every filter, ranked full-text search, the three sorts, and both paginations over the same rows. */
let app: TestApp;
let token: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  app = await startTestApp();
  token = await app.token('lead@example.com', { roles: ['sre'] });
  const make = async (name: string, body: Record<string, unknown>, states: string[] = []) => {
    ids[name] = (await createIncident(app, token, body)).id;
    if (states.length) await walk(app, token, ids[name], states);
  };
  await make('aurora', {
    short_description: 'Database timeout in prod',
    description: 'Seeing intermittent timeouts on the main Aurora cluster',
    category: 'database',
    priority: 'P2',
    assignment_group: 'Platform Engineering',
    assigned_to: 'jane@example.com',
  });
  await make('vpn', { short_description: 'Packet loss on the office VPN', category: 'network', priority: 'P1', assignment_group: 'Network', assigned_to: 'bob@example.com' }, ['in_progress']);
  await make('replica', { short_description: 'Database replica lag', category: 'database', priority: 'P3', assignment_group: 'Platform Engineering' }, ['in_progress', 'resolved']);
  await make('login', { short_description: 'Login page slow', category: 'web', priority: 'P4', assignment_group: 'Web' });
  await make('payments', { short_description: 'Timeout calling the payment provider', category: 'payments', priority: 'P2', assignment_group: 'Payments' }, ['in_progress', 'on_hold']);
  // Notes are searched too.
  await app.http('POST', `/prod/api/incidents/${ids.login}/notes`, { token, body: { body: 'Root cause: the database connection pool is exhausted' } });
});
afterAll(() => app.close());

type Listed = { data: Array<{ id: string; priority: string; created_at: string; updated_at: string }>; next_cursor: string | null; total: number };
const list = async (query: string): Promise<Listed> => {
  const res = await app.http('GET', `/prod/api/incidents?${query}`, { token });
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${res.text}`);
  return res.body;
};
const names = (body: { data: Array<{ id: string }> }) => body.data.map((i) => Object.keys(ids).find((k) => ids[k] === i.id) ?? i.id).sort();

test("the spec's list example: state=new&priority=P1&limit=25", async () => {
  const { id } = await createIncident(app, token, { short_description: 'Brand new P1', priority: 'P1' });
  const page = await list('state=new&priority=P1&limit=25');
  expect(page.data.map((i) => i.id)).toEqual([id]);
  expect(page).toMatchObject({ total: 1, next_cursor: null });
  await app.http('DELETE', `/prod/api/incidents/${id}`, { token: await app.token('ivy@example.com', { roles: ['itsm_manager'] }) });
});

test('filters: state, priority, assignment_group, assigned_to, category (lists allowed for enums)', async () => {
  expect(names(await list('state=new'))).toEqual(['aurora', 'login']);
  expect(names(await list('state=in_progress,on_hold'))).toEqual(['payments', 'vpn']);
  expect(names(await list('priority=P2'))).toEqual(['aurora', 'payments']);
  expect(names(await list('priority=P1,P4'))).toEqual(['login', 'vpn']);
  expect(names(await list('assignment_group=Platform%20Engineering'))).toEqual(['aurora', 'replica']);
  expect(names(await list('assigned_to=jane%40example.com'))).toEqual(['aurora']);
  expect(names(await list('category=database'))).toEqual(['aurora', 'replica']);
  expect(names(await list('category=database&state=resolved'))).toEqual(['replica']);
  expect(names(await list('state=&priority=&category='))).toHaveLength(5);
  expect((await app.http('GET', '/prod/api/incidents?state=sleeping', { token })).status).toBe(400);
  expect((await app.http('GET', '/prod/api/incidents?priority=P9', { token })).status).toBe(400);
});

test('created_after / created_before bound the creation time', async () => {
  const all = (await list('sort=created_at&order=asc')).data;
  const pivot = all[2].created_at;
  expect((await list(`created_after=${encodeURIComponent(pivot)}`)).data.map((i) => i.id).sort()).toEqual(all.slice(3).map((i) => i.id).sort());
  expect((await list(`created_before=${encodeURIComponent(pivot)}`)).data.map((i) => i.id).sort()).toEqual(all.slice(0, 2).map((i) => i.id).sort());
  expect((await list(`created_after=${encodeURIComponent(pivot)}&created_before=${encodeURIComponent(all[4].created_at)}`)).data.map((i) => i.id)).toEqual([all[3].id]);
});

test('q searches short description, description and work notes, stemmed and ranked', async () => {
  const ranked = await list('q=database');
  expect(names(ranked)).toEqual(['aurora', 'login', 'replica']);
  // A match in a work note weighs least.
  expect(ranked.data[2].id).toBe(ids.login);
  expect(names(await list('q=database+timeout'))).toEqual(['aurora']);
  expect(names(await list('q=timeouts'))).toEqual(['aurora', 'payments']);
  expect(names(await list('q=exhausted'))).toEqual(['login']);
  expect(names(await list('q=%22payment%20provider%22'))).toEqual(['payments']);
  expect(names(await list('q=database&category=database&state=new'))).toEqual(['aurora']);
  expect((await list('q=nonexistentword')).total).toBe(0);
  // Another sort may be asked for; "relevance" without q is the default order.
  expect((await list('q=database&sort=priority')).data.map((i) => i.priority)).toEqual(['P2', 'P3', 'P4']);
  expect((await list('sort=relevance')).total).toBe(5);
});

test('sorts by priority, created_at and updated_at, both ways', async () => {
  expect((await list('sort=priority&order=asc')).data.map((i) => i.priority)).toEqual(['P1', 'P2', 'P2', 'P3', 'P4']);
  expect((await list('sort=priority&order=desc')).data.map((i) => i.priority)).toEqual(['P4', 'P3', 'P2', 'P2', 'P1']);
  const created = (await list('sort=created_at&order=asc')).data.map((i) => i.created_at);
  expect(created).toEqual([...created].sort());
  expect((await list('')).data.map((i) => i.created_at)).toEqual([...created].reverse());
  const updated = (await list('sort=updated_at&order=desc')).data.map((i) => i.updated_at);
  expect(updated).toEqual([...updated].sort().reverse());
  const stella = (await app.http('GET', '/api/v1/incidents?sort=-priority', { token })).body.data.map((i: { priority: string }) => i.priority);
  expect(stella).toEqual(['P4', 'P3', 'P2', 'P2', 'P1']);
  expect((await app.http('GET', '/prod/api/incidents?sort=short_description', { token })).status).toBe(400);
});

test('StackFlow cursors walk every row exactly once, in every sort', async () => {
  for (const sort of ['sort=created_at&order=desc', 'sort=priority&order=asc', 'sort=updated_at&order=asc', 'q=database']) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Listed = await list(`limit=2&${sort}${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((i) => i.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    const expected = sort === 'q=database' ? 3 : 5;
    expect(seen).toHaveLength(expected);
    expect(new Set(seen).size).toBe(expected);
    expect(pages).toBe(Math.ceil(expected / 2));
    const whole = (await list(`limit=200&${sort}`)).data.map((i) => i.id);
    expect(seen).toEqual(whole);
  }
});

test('page + limit (the spec lists both) and Stella page/pageSize serve the same order', async () => {
  const whole = (await list('sort=priority&order=asc')).data.map((i) => i.id);
  const second = await list('sort=priority&order=asc&page=2&limit=2');
  expect(second.data.map((i) => i.id)).toEqual(whole.slice(2, 4));
  expect(second.total).toBe(5);
  const stella = (await app.http('GET', '/api/v1/incidents?sort=priority&order=asc&page=3&pageSize=2', { token })).body;
  expect(stella.data.map((i: { id: string }) => i.id)).toEqual(whole.slice(4));
  expect(stella.meta.pagination).toEqual({ page: 3, pageSize: 2, totalItems: 5, totalPages: 3, hasNext: false, hasPrevious: true });
});

test('limits: limit ≤ 200, a forged cursor or one from another sort is 400', async () => {
  expect((await app.http('GET', '/prod/api/incidents?limit=201', { token })).status).toBe(400);
  expect((await app.http('GET', '/prod/api/incidents?limit=200', { token })).status).toBe(200);
  const forged = await app.http('GET', '/prod/api/incidents?cursor=bm9wZQ', { token });
  expect(forged.status).toBe(400);
  expect(forged.body.error.code).toBe('INVALID_CURSOR');
  const { next_cursor } = await list('limit=1&sort=priority');
  expect((await app.http('GET', `/prod/api/incidents?limit=1&sort=created_at&cursor=${next_cursor}`, { token })).status).toBe(400);
});

import { startTestApp, type TestApp } from '../support/app';
import { API, auditOf, createEnvironment, failure, get, post, PRODUCTION, refused, unique, WEEKEND, withLoneSurrogate } from '../support/inventory';

/** Environments and freeze windows over HTTP: the issue's bodies as written, freeze status, paging in both dialects, rules, roles and tenancy. */
let app: TestApp;
let manager: string;
let developer: string;
let viewer: string;
let stranger: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  developer = await app.token('dev@example.com', { roles: ['developer'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  stranger = await app.token('rm@other.example.com', { roles: ['release-manager'], tenant: `${app.tenant}-other` });
});
afterAll(() => app.close());

const HOUR = 3_600_000;
const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString();

/** Weekday and time of an instant on Berlin's wall clock, e.g. "Sat 00:00". */
const berlin = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso)).replace(',', '');

describe('create and read', () => {
  test("the issue's Production body as written: 201 with its settings, Location, no freeze, and an audit row", async () => {
    const res = await app.http('POST', `${API}/environments`, { token: manager, body: PRODUCTION });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, meta: { requestId: expect.any(String), timestamp: expect.any(String) } });
    const env = res.body.data;
    expect(env).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Production',
      description: null,
      order: 3,
      requireSod: true,
      requiredApprovals: 2,
      securityThresholds: { maxCritical: 0, maxHigh: 5 },
      requireChangeRequest: false,
      deployment: null,
      version: 1,
      freeze: { active: false, activeWindow: null, nextWindow: null },
      createdBy: 'rm@example.com',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(res.headers.get('location')).toBe(`${API}/environments/${env.id}`);
    expect(await get(app, viewer, `/environments/${env.id}`)).toEqual(env);
    expect(await auditOf(app, env.id)).toEqual([
      expect.objectContaining({ action: 'environment.create', actor: 'rm@example.com', resource_type: 'environment', after: expect.objectContaining({ name: 'Production', order: 3 }) }),
    ]);
  });

  test('defaults: no SoD, one approval, no thresholds, no change request', async () => {
    const env = await post(app, manager, '/environments', { name: 'Scratch', order: 42 });
    expect(env).toMatchObject({ requireSod: false, requiredApprovals: 1, securityThresholds: null, requireChangeRequest: false });
  });

  test('a duplicate name (any case) or pipeline position is a 409 ALREADY_EXISTS, and nothing is written', async () => {
    const { name, order } = unique('dup');
    await post(app, manager, '/environments', { name, order });
    expect(await failure(app, manager, 'POST', '/environments', 409, { name: name.toUpperCase(), order: order + 1000 })).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await failure(app, manager, 'POST', '/environments', 409, { name: `${name}-b`, order })).toMatchObject({ code: 'ALREADY_EXISTS' });
    const { rows } = await app.pool.query(`SELECT count(*)::int AS n FROM environments WHERE tenant_id = $1 AND (lower(name) = lower($2) OR name = $3)`, [app.tenant, name, `${name}-b`]);
    expect(rows[0].n).toBe(1);
  });

  test('PUT replaces the settings, bumps the version, answers 409 on a taken name and is audited', async () => {
    const env = await createEnvironment(app, manager);
    const other = await createEnvironment(app, manager);
    const res = await app.http('PUT', `${API}/environments/${env.id}`, {
      token: manager,
      body: { name: `${env.name}-renamed`, order: env.order, description: 'now with thresholds', requiredApprovals: 3, securityThresholds: { maxCritical: 1, maxHigh: 10 }, requireChangeRequest: true },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ name: `${env.name}-renamed`, description: 'now with thresholds', requiredApprovals: 3, securityThresholds: { maxCritical: 1, maxHigh: 10 }, requireChangeRequest: true, version: 2 });
    expect(await failure(app, manager, 'PUT', `/environments/${env.id}`, 409, { name: other.name, order: env.order })).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect((await get(app, manager, `/environments/${env.id}`)).version).toBe(2);
    expect((await auditOf(app, env.id)).map((a) => a.action)).toEqual(['environment.create', 'environment.update']);
  });

  test('PATCH changes only what it names; deployment settings merge setting by setting, each replaced whole, null removes one; audited', async () => {
    const deployment = { strategy: { type: 'rolling', batchSize: 2, minHealthy: '75%' }, failurePolicy: 'pause', deployHook: './deploy.sh', targetLabels: { role: 'web' } };
    const env = await createEnvironment(app, manager, { ...PRODUCTION, ...unique('patched'), description: 'kept', deployment });
    const patch = (body: unknown) => app.http('PATCH', `${API}/environments/${env.id}`, { token: manager, body });

    const one = await patch({ requiredApprovals: 3 });
    expect(one.status).toBe(200);
    expect(one.body.data).toEqual({ ...env, requiredApprovals: 3, version: 2, updatedAt: expect.any(String) });

    const settings = await patch({ deployment: { failurePolicy: 'rollback', deployHook: null, strategy: { type: 'all-at-once' } } });
    expect(settings.body.data.deployment).toEqual({
      strategy: { type: 'all-at-once', batchSize: null, maxUnavailable: null, minHealthy: null },
      failurePolicy: 'rollback',
      targetLabels: { role: 'web' },
    });
    expect(settings.body.data).toMatchObject({ description: 'kept', requireSod: true, securityThresholds: PRODUCTION.securityThresholds, version: 3 });
    expect((await patch({ deployment: null })).body.data.deployment).toBeNull();
    expect((await patch({ securityThresholds: null, description: null })).body.data).toMatchObject({ securityThresholds: null, description: null, requiredApprovals: 3 });
    expect((await auditOf(app, env.id)).map((a) => a.action)).toEqual(['environment.create', 'environment.patch', 'environment.patch', 'environment.patch', 'environment.patch']);
  });

  test('PATCH refuses what PUT refuses: 400 naming the field, 404, 409 on a taken name or order; read-only roles 403, other tenants 404', async () => {
    const env = await createEnvironment(app, manager);
    const other = await createEnvironment(app, manager);
    const path = `/environments/${env.id}`;
    await refused(app, manager, 'PATCH', path, { requiredApprovals: 51 }, 'requiredApprovals');
    await refused(app, manager, 'PATCH', path, { deployment: { strategy: { type: 'canary' } } }, 'deployment.strategy.type');
    await refused(app, manager, 'PATCH', path, { deployment: { failurePolicy: 'retry' } }, 'deployment.failurePolicy');
    await refused(app, manager, 'PATCH', path, { nmae: 'x' }, 'nmae');
    await refused(app, manager, 'PATCH', path, { requireSod: null }, 'requireSod');
    expect(await failure(app, manager, 'PATCH', path, 409, { name: other.name })).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await failure(app, manager, 'PATCH', path, 409, { order: other.order })).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await failure(app, manager, 'PATCH', '/environments/00000000-0000-4000-8000-000000000000', 404, { order: 5 })).toMatchObject({ code: 'NOT_FOUND' });
    await refused(app, manager, 'PATCH', path, {}, 'body');
    await refused(app, manager, 'PATCH', path, { deployment: { targetLabels: { role: null } } }, 'deployment.targetLabels.role');
    for (const token of [viewer, developer]) await failure(app, token, 'PATCH', path, 403, { requiredApprovals: 0 });
    await failure(app, stranger, 'PATCH', path, 404, { requiredApprovals: 0 });
    expect(await get(app, viewer, path)).toMatchObject({ version: 1, requiredApprovals: env.requiredApprovals });
  });
});

describe('freeze windows', () => {
  test("a one-off window in force now makes the environment frozen until its end; a later one is the next", async () => {
    const env = await createEnvironment(app, manager);
    const now = { start: isoIn(-HOUR), end: isoIn(HOUR) };
    const later = { start: isoIn(48 * HOUR), end: isoIn(72 * HOUR) };
    const active = await post(app, manager, `/environments/${env.id}/freeze-windows`, { name: 'Year-end freeze', ...now, reason: 'holidays', exemptReleaseClasses: ['hotfix'] });
    expect(active).toMatchObject({ environmentId: env.id, name: 'Year-end freeze', reason: 'holidays', start: now.start, end: now.end, rrule: null, exemptReleaseClasses: ['hotfix'], createdBy: 'rm@example.com' });
    expect(active.nextOccurrence).toMatchObject({ windowId: active.id, start: now.start, end: now.end });
    const next = await post(app, manager, `/environments/${env.id}/freeze-windows`, { name: 'Later', ...later });

    const frozen = await get(app, viewer, `/environments/${env.id}`);
    expect(frozen.freeze).toEqual({
      active: true,
      activeWindow: { windowId: active.id, name: 'Year-end freeze', reason: 'holidays', start: now.start, end: now.end },
      nextWindow: { windowId: next.id, name: 'Later', reason: null, start: later.start, end: later.end },
    });
    // The list page says the same.
    const listed = (await app.http('GET', `${API}/environments?pageSize=100`, { token: viewer })).body.data.find((e: any) => e.id === env.id);
    expect(listed.freeze).toEqual(frozen.freeze);

    // Removing the active window lifts the freeze; the later one stays next.
    expect((await app.http('DELETE', `${API}/environments/${env.id}/freeze-windows/${active.id}`, { token: manager })).status).toBe(204);
    expect((await get(app, viewer, `/environments/${env.id}`)).freeze).toEqual({ active: false, activeWindow: null, nextWindow: expect.objectContaining({ windowId: next.id, start: later.start }) });
    expect(await failure(app, manager, 'DELETE', `/environments/${env.id}/freeze-windows/${active.id}`, 404)).toMatchObject({ code: 'NOT_FOUND' });
    expect((await auditOf(app, env.id)).map((a) => a.action)).toEqual(['environment.create', 'freeze_window.create', 'freeze_window.create', 'freeze_window.delete']);
  });

  test("the issue's recurring Weekend body as written: Saturday 00:00 in Berlin for exactly 48 hours", async () => {
    const env = await createEnvironment(app, manager);
    const res = await app.http('POST', `${API}/environments/${env.id}/freeze-windows`, { token: manager, body: WEEKEND });
    expect(res.status).toBe(201);
    const w = res.body.data;
    expect(res.headers.get('location')).toBe(`${API}/environments/${env.id}/freeze-windows/${w.id}`);
    expect(w).toMatchObject({ name: 'Weekend', rrule: 'FREQ=WEEKLY;BYDAY=SA', timezone: 'Europe/Berlin', duration: 'PT48H', start: null, end: null, exemptReleaseClasses: [] });
    const occurrence = w.nextOccurrence;
    expect(berlin(occurrence.start)).toBe('Sat 00:00');
    expect(Date.parse(occurrence.end) - Date.parse(occurrence.start)).toBe(48 * HOUR);
    expect(Date.parse(occurrence.end)).toBeGreaterThan(Date.now());

    const { freeze } = await get(app, viewer, `/environments/${env.id}`);
    if (Date.parse(occurrence.start) <= Date.now()) {
      expect(freeze).toMatchObject({ active: true, activeWindow: { windowId: w.id, start: occurrence.start, end: occurrence.end } });
      expect(berlin(freeze.nextWindow.start)).toBe('Sat 00:00');
    } else {
      expect(freeze).toEqual({ active: false, activeWindow: null, nextWindow: { windowId: w.id, name: 'Weekend', reason: null, start: occurrence.start, end: occurrence.end } });
    }
    const list = await get(app, viewer, `/environments/${env.id}/freeze-windows`);
    expect(list).toEqual([w]);
  });

  test('a recurring window may name its first occurrence; each one keeps the local time across DST', async () => {
    const env = await createEnvironment(app, manager);
    // Nightly for 8 hours from a first night a month ago: the next one starts at the same local time, whatever DST did since.
    const first = new Date(Date.now() - 30 * 24 * HOUR);
    first.setUTCHours(21, 0, 0, 0);
    const w = await post(app, manager, `/environments/${env.id}/freeze-windows`, {
      name: 'Nightly',
      rrule: 'rrule:freq=daily',
      timezone: 'Europe/Berlin',
      duration: 'PT8H',
      start: first.toISOString(),
    });
    expect(w.rrule).toBe('FREQ=DAILY');
    const localTime = (iso: string) => berlin(iso).slice(4);
    expect(localTime(w.nextOccurrence.start)).toBe(localTime(first.toISOString()));
    expect(Date.parse(w.nextOccurrence.end) - Date.parse(w.nextOccurrence.start)).toBe(8 * HOUR);
  });

  test('bad windows are 400s naming the field', async () => {
    const env = await createEnvironment(app, manager);
    const path = `/environments/${env.id}/freeze-windows`;
    const oneOff = { name: 'One-off', start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' };
    await refused(app, manager, 'POST', path, { start: oneOff.start, end: oneOff.end }, 'name');
    await refused(app, manager, 'POST', path, { name: 'No times' }, 'start');
    await refused(app, manager, 'POST', path, { name: 'No end', start: oneOff.start }, 'end');
    await refused(app, manager, 'POST', path, { ...oneOff, end: '2029-12-31T00:00:00Z' }, 'end');
    await refused(app, manager, 'POST', path, { ...oneOff, start: 'next tuesday' }, 'start');
    await refused(app, manager, 'POST', path, { ...oneOff, start: '0000-01-01T00:00:00Z' }, 'start');
    await refused(app, manager, 'POST', path, { ...oneOff, end: '2030-01-02T00:00:00' }, 'end');
    await refused(app, manager, 'POST', path, { ...oneOff, timezone: 'Europe/Berlin' }, 'timezone');
    await refused(app, manager, 'POST', path, { ...oneOff, exemptReleaseClasses: ['Hot Fix'] }, 'exemptReleaseClasses.0');
    await refused(app, manager, 'POST', path, { ...WEEKEND, rrule: 'EVERY SATURDAY' }, 'rrule');
    await refused(app, manager, 'POST', path, { ...WEEKEND, rrule: 'BYDAY=SA' }, 'rrule');
    await refused(app, manager, 'POST', path, { ...WEEKEND, timezone: 'Europe/Atlantis' }, 'timezone');
    await refused(app, manager, 'POST', path, { ...WEEKEND, duration: '48 hours' }, 'duration');
    await refused(app, manager, 'POST', path, { ...WEEKEND, duration: 'PT0H' }, 'duration');
    await refused(app, manager, 'POST', path, { name: 'Weekend', rrule: WEEKEND.rrule, duration: 'PT48H' }, 'timezone');
    await refused(app, manager, 'POST', path, { name: 'Weekend', rrule: WEEKEND.rrule, timezone: 'UTC' }, 'duration');
    await refused(app, manager, 'POST', path, { ...WEEKEND, end: '2030-01-01T00:00:00Z' }, 'end');
    // A recurrence is expanded from its first occurrence on every read, so that may be at most a year ago.
    await refused(app, manager, 'POST', path, { ...WEEKEND, start: '2020-01-04T00:00:00+01:00' }, 'start');
    // A one-off window ending centuries ahead would make every freeze read expand the recurring windows up to it.
    await refused(app, manager, 'POST', path, { ...oneOff, end: '2900-01-01T00:00:00Z' }, 'end');
    // Occurrences a day apart cannot each last two days.
    const [overlap] = await refused(app, manager, 'POST', path, { ...WEEKEND, rrule: 'FREQ=DAILY' }, 'duration');
    expect(overlap.message).toContain('24 hours between two occurrences');
    await refused(app, manager, 'POST', path, { ...oneOff, name: 'a\u0000b' }, 'name');
    await refused(app, manager, 'POST', path, withLoneSurrogate(oneOff, 'reason'), 'reason');
    const unknown = await refused(app, manager, 'POST', path, { ...oneOff, reasn: 'typo' }, 'reasn');
    expect(unknown[0]).toMatchObject({ code: 'unknown_field', message: expect.stringContaining('"reason"') });
    expect(await get(app, manager, path)).toEqual([]);
  });

  test.each([
    ['a weekday that does not exist', 'FREQ=WEEKLY;BYDAY=XX'],
    ['a zero interval', 'FREQ=DAILY;INTERVAL=0'],
    ['a count that is no number', 'FREQ=WEEKLY;COUNT=abc'],
    ['a thirteenth month', 'FREQ=MONTHLY;BYMONTH=13'],
    ['an hour past midnight', 'FREQ=DAILY;BYHOUR=25'],
    ['a set position of zero', 'FREQ=WEEKLY;BYDAY=SA;BYSETPOS=0'],
    ['a date that never comes', 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30'],
    ['a window every second', 'FREQ=SECONDLY'],
    ['a window every minute', 'FREQ=MINUTELY'],
    ['a rule part twice', 'FREQ=WEEKLY;FREQ=DAILY'],
    ['an unknown week start', 'FREQ=WEEKLY;WKST=XX'],
  ])('an rrule with %s is a 400 naming rrule, and the environment still reads', async (_what, rrule) => {
    const env = await createEnvironment(app, manager);
    await refused(app, manager, 'POST', `/environments/${env.id}/freeze-windows`, { ...WEEKEND, rrule }, 'rrule');
    expect((await get(app, viewer, `/environments/${env.id}`)).freeze.active).toBe(false);
  });

  test('a duration longer than a year is a 400 naming duration', async () => {
    const env = await createEnvironment(app, manager);
    await refused(app, manager, 'POST', `/environments/${env.id}/freeze-windows`, { ...WEEKEND, duration: 'P1000W' }, 'duration');
  });

  test('windows of an unknown environment are 404; a malformed id is 400', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await failure(app, manager, 'POST', `/environments/${missing}/freeze-windows`, 404, WEEKEND)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(app, manager, 'GET', `/environments/${missing}/freeze-windows`, 404)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(app, manager, 'DELETE', `/environments/${missing}/freeze-windows/${missing}`, 404)).toMatchObject({ code: 'NOT_FOUND' });
    await refused(app, manager, 'GET', '/environments/not-a-uuid', undefined, 'id');
    await refused(app, manager, 'DELETE', `/environments/${missing}/freeze-windows/nope`, undefined, 'windowId');
  });
});

describe('validation', () => {
  test.each([
    ['name', { order: 900 }],
    ['order', { name: 'No order' }],
    ['order', { name: 'Fractional', order: 1.5 }],
    ['order', { name: 'Negative', order: -1 }],
    ['requiredApprovals', { name: 'Too many', order: 901, requiredApprovals: 51 }],
    ['requireSod', { name: 'Stringly', order: 902, requireSod: 'yes' }],
    ['securityThresholds.maxCritical', { name: 'Thresholds', order: 903, securityThresholds: { maxHigh: 5 } }],
    ['securityThresholds.maxHig', { name: 'Thresholds', order: 904, securityThresholds: { maxCritical: 0, maxHig: 5 } }],
    ['name', { name: '   ', order: 905 }],
    ['name', { name: 'x'.repeat(101), order: 906 }],
    ['name', { name: 'a\u0000b', order: 907 }],
    ['reqiredApprovals', { name: 'Typo', order: 908, reqiredApprovals: 2 }],
  ])('a body with a bad %s is a 400 naming it', async (field, body) => {
    await refused(app, manager, 'POST', '/environments', body, field);
  });

  test('a lone surrogate in the name or description is a 400 naming it, in both dialects', async () => {
    await refused(app, manager, 'POST', '/environments', withLoneSurrogate({ order: 910 }, 'name'), 'name');
    await refused(app, manager, 'POST', '/prod/api/environments', withLoneSurrogate({ name: 'x', order: 911 }, 'description'), 'description');
  });

  test('a typo in a field is answered with the field it probably meant', async () => {
    const [error] = await refused(app, manager, 'POST', '/environments', { name: 'Typo', order: 912, requireSOD: true }, 'requireSOD');
    expect(error).toMatchObject({ code: 'unknown_field', message: expect.stringContaining('"requireSod"') });
  });
});

describe('paging, in both dialects', () => {
  let ids: string[];
  beforeAll(async () => {
    // A tenant of its own, so the pages hold exactly these.
    const tenant = `${app.tenant}-paging`;
    const token = await app.token('pager@example.com', { roles: ['release-manager'], tenant });
    const made = [];
    for (const [name, order] of [['dev', 1], ['staging', 2], ['prod', 3], ['dr', 4], ['sandbox', 0]] as const) made.push(await post(app, token, '/environments', { name, order }));
    ids = made.sort((a, b) => a.order - b.order).map((e) => e.id);
    pagerToken = token;
  });
  let pagerToken: string;

  test('/api/v1: page/pageSize in pipeline order with pagination meta', async () => {
    const first = await app.http('GET', `${API}/environments?pageSize=2`, { token: pagerToken });
    expect(first.status).toBe(200);
    expect(first.body.data.map((e: any) => e.name)).toEqual(['sandbox', 'dev']);
    expect(first.body.meta.pagination).toEqual({ page: 1, pageSize: 2, totalItems: 5, totalPages: 3, hasNext: true, hasPrevious: false });
    const last = await app.http('GET', `${API}/environments?page=3&pageSize=2`, { token: pagerToken });
    expect(last.body.data.map((e: any) => e.id)).toEqual([ids[4]]);
    expect(last.body.meta.pagination).toMatchObject({ page: 3, hasNext: false, hasPrevious: true });
    const byName = await app.http('GET', `${API}/environments?sort=-name`, { token: pagerToken });
    expect(byName.body.data.map((e: any) => e.name)).toEqual(['staging', 'sandbox', 'prod', 'dr', 'dev']);
    await refused(app, pagerToken, 'GET', '/environments?sort=colour', undefined, 'sort');
    await refused(app, pagerToken, 'GET', '/environments?pageSize=101', undefined, 'pageSize');
    await refused(app, pagerToken, 'GET', '/environments?page=0', undefined, 'page');
  });

  test.each(['/prod/api', '/prod/api/v1'])('%s: cursor/limit over every environment, bare bodies', async (prefix) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await app.http('GET', `${prefix}/environments?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: pagerToken });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['data', 'next_cursor', 'total']);
      expect(res.body.total).toBe(5);
      seen.push(...res.body.data.map((e: any) => e.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    // page is served too, and a forged cursor is a 400, not a 500.
    expect((await app.http('GET', `${prefix}/environments?page=2&limit=2`, { token: pagerToken })).body.data.map((e: any) => e.id)).toEqual(ids.slice(2, 4));
    expect(await failure(app, pagerToken, 'GET', `${prefix}/environments?cursor=${Buffer.from('["order","asc","x","y"]').toString('base64url')}`, 400)).toMatchObject({ code: 'INVALID_CURSOR' });
    expect(await failure(app, pagerToken, 'GET', `${prefix}/environments?cursor=garbage`, 400)).toMatchObject({ code: 'INVALID_CURSOR' });
    const one = await app.http('GET', `${prefix}/environments/${ids[0]}`, { token: pagerToken });
    expect(one.body).toMatchObject({ id: ids[0], name: 'sandbox', freeze: { active: false } });
  });
});

describe('roles', () => {
  test('a viewer reads but cannot write; a developer cannot manage environments', async () => {
    const env = await createEnvironment(app, manager);
    expect((await app.http('GET', `${API}/environments`, { token: viewer })).status).toBe(200);
    expect((await app.http('GET', `${API}/environments/${env.id}/freeze-windows`, { token: viewer })).status).toBe(200);
    for (const token of [viewer, developer]) {
      expect(await failure(app, token, 'POST', '/environments', 403, { name: 'Nope', order: 999 })).toMatchObject({ code: 'FORBIDDEN' });
      await failure(app, token, 'PUT', `/environments/${env.id}`, 403, { name: 'Nope', order: 999 });
      await failure(app, token, 'DELETE', `/environments/${env.id}`, 403);
      await failure(app, token, 'POST', `/environments/${env.id}/freeze-windows`, 403, WEEKEND);
    }
    expect((await get(app, manager, `/environments/${env.id}`)).version).toBe(1);
    const noRoles = await app.token('nobody@example.com', { roles: [] });
    await failure(app, noRoles, 'GET', '/environments', 403);
    expect((await app.http('GET', `${API}/environments`)).status).toBe(401);
  });
});

describe('deploy hooks need deployment:hook-write', () => {
  test('environment:write alone may not set, change or remove the environment’s deploy hook; a release manager may', async () => {
    const envWriter = await app.token('ops@example.com', { roles: ['viewer'], permissions: ['environment:write'] });
    const body = unique('hooked');
    const err = await failure(app, envWriter, 'POST', '/environments', 403, { ...body, deployment: { deployHook: 'sh ./evil.sh' } });
    expect(err).toMatchObject({ code: 'FORBIDDEN', details: { required: 'deployment:hook-write', allowedRoles: ['release-manager', 'admin'] } });
    expect(err.message).toContain('(roles that have it: release-manager, admin)');
    const env = await post(app, envWriter, '/environments', { ...body, deployment: { failurePolicy: 'pause' } });
    const put = (token: string, deployment: Record<string, unknown> | undefined) => app.http('PUT', `${API}/environments/${env.id}`, { token, body: { ...body, deployment } });
    expect((await put(envWriter, { failurePolicy: 'pause', deployHook: 'sh ./evil.sh' })).status).toBe(403);
    expect((await put(manager, { failurePolicy: 'pause', deployHook: 'sh ./deploy.sh' })).status).toBe(200);
    // Other settings with the same hook pass; dropping or changing the hook does not.
    expect((await put(envWriter, { failurePolicy: 'rollback', deployHook: 'sh ./deploy.sh' })).status).toBe(200);
    for (const deployment of [undefined, { failurePolicy: 'rollback' }, { deployHook: 'sh ./other.sh' }]) {
      const res = await put(envWriter, deployment);
      expect([res.status, res.body.error?.details?.required]).toEqual([403, 'deployment:hook-write']);
    }
    expect((await get(app, viewer, `/environments/${env.id}`)).deployment).toMatchObject({ failurePolicy: 'rollback', deployHook: 'sh ./deploy.sh' });
  });
});

describe('delete', () => {
  test('an environment a target stands in is 409 IN_USE; once free it is deleted (204), audited, and gone', async () => {
    const env = await createEnvironment(app, manager);
    await post(app, manager, `/environments/${env.id}/freeze-windows`, WEEKEND);
    const target = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    const refusedDelete = await failure(app, manager, 'DELETE', `/environments/${env.id}`, 409);
    expect(refusedDelete).toMatchObject({ code: 'IN_USE', details: { targets: 1, policies: 0, promotions: 0 } });
    expect((await app.http('DELETE', `${API}/targets/${target.id}`, { token: manager })).status).toBe(204);
    expect((await app.http('DELETE', `${API}/environments/${env.id}`, { token: manager })).status).toBe(204);
    expect(await failure(app, manager, 'GET', `/environments/${env.id}`, 404)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(app, manager, 'DELETE', `/environments/${env.id}`, 404)).toMatchObject({ code: 'NOT_FOUND' });
    expect((await auditOf(app, env.id)).map((a) => a.action)).toEqual(['environment.create', 'freeze_window.create', 'environment.delete']);
    const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM freeze_windows WHERE tenant_id = $1 AND environment_id = $2', [app.tenant, env.id]);
    expect(rows[0].n).toBe(0);
  });

  test('an environment with a live approval policy is 409 IN_USE; once the policy is deleted, so can the environment be', async () => {
    const env = await createEnvironment(app, manager);
    const policy = await post(app, manager, '/approval-policies', { name: `${env.name} policy`, environmentId: env.id, requiredApprovals: 2, approverGroups: ['sre'] });
    expect(await failure(app, manager, 'DELETE', `/environments/${env.id}`, 409)).toMatchObject({ code: 'IN_USE', details: { policies: 1 } });
    expect((await app.http('DELETE', `${API}/approval-policies/${policy.id}`, { token: manager })).status).toBe(204);
    expect((await app.http('DELETE', `${API}/environments/${env.id}`, { token: manager })).status).toBe(204);
    await failure(app, manager, 'GET', `/environments/${env.id}`, 404);
  });

  test('an environment a release was deployed to is 409 IN_USE', async () => {
    const env = await createEnvironment(app, manager);
    // What the promotion's deploy activity records when a release lands.
    await app.pool.query(`INSERT INTO release_deployments (tenant_id, release_id, environment_id, status) VALUES ($1, gen_random_uuid(), $2, 'deployed')`, [app.tenant, env.id]);
    expect(await failure(app, manager, 'DELETE', `/environments/${env.id}`, 409)).toMatchObject({ code: 'IN_USE' });
  });
});

describe('tenancy', () => {
  test("another tenant's environment and its windows are 404 for every operation", async () => {
    const env = await createEnvironment(app, manager);
    const w = await post(app, manager, `/environments/${env.id}/freeze-windows`, WEEKEND);
    await failure(app, stranger, 'GET', `/environments/${env.id}`, 404);
    await failure(app, stranger, 'PUT', `/environments/${env.id}`, 404, { name: 'Mine now', order: 1 });
    await failure(app, stranger, 'DELETE', `/environments/${env.id}`, 404);
    await failure(app, stranger, 'GET', `/environments/${env.id}/freeze-windows`, 404);
    await failure(app, stranger, 'POST', `/environments/${env.id}/freeze-windows`, 404, WEEKEND);
    await failure(app, stranger, 'DELETE', `/environments/${env.id}/freeze-windows/${w.id}`, 404);
    await failure(app, stranger, 'GET', `/prod/api/environments/${env.id}`, 404);
    const theirs = (await app.http('GET', `${API}/environments?pageSize=100`, { token: stranger })).body.data;
    expect(theirs.map((e: any) => e.id)).not.toContain(env.id);
    // The other tenant can use the same name and position.
    expect((await app.http('POST', `${API}/environments`, { token: stranger, body: { name: env.name, order: env.order } })).status).toBe(201);
    expect(await get(app, manager, `/environments/${env.id}`)).toMatchObject({ name: env.name, version: 1 });
    expect((await get(app, manager, `/environments/${env.id}/freeze-windows`)).map((x: any) => x.id)).toEqual([w.id]);
  });
});

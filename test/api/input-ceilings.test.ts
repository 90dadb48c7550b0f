import { startTestApp, type TestApp } from '../support/app';
import { createIncident } from '../support/incidents';
import { scene, type Scene } from '../support/promotion-scene';

/**
 * Inputs outside testing found to wedge or slip through: a change number with
 * no maximum (it rode a promotion past Temporal's payload limit), a health
 * check host that is no IPv6 address, an attachment URL that runs script, and
 * a Stella list that ignored a garbage cursor. Each is refused with a 400
 * naming the field.
 */
let app: TestApp;
let s: Scene;
let env: any;
let release: any;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  s = await scene(app, app.tenant);
  env = await s.expect(201, 'POST', '/environments', s.admin, { name: 'Staging', order: 1, requiredApprovals: 1, requireSod: false });
  const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'svc' });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0' }] });
  release = await s.expect(201, 'POST', '/releases', s.admin, { name: 'svc-1.0.0', version: '1.0.0', components: [{ componentId: component.id, version: '1.0.0' }] });
});
afterAll(() => app?.close());

const fieldErrors = (body: any) => (body.error.validationErrors ?? body.error.validation_errors ?? []) as Array<{ field: string; code: string; message: string }>;

test('a 480,000-digit changeId is refused before any workflow sees it, naming the field and its maximum', async () => {
  const changeId = `CHG${'4'.repeat(480_000)}`;
  for (const path of ['/promotions', '/promotions/preview-gates']) {
    const res = await s.call('POST', path, s.admin, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'wedge', changeId });
    expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'VALIDATION_FAILED']);
    expect(fieldErrors(res.body)).toContainEqual(expect.objectContaining({ field: 'changeId', code: 'too_big', message: expect.stringContaining('21') }));
  }
  const { rows } = await app.pool.query('SELECT count(*)::int AS n FROM promotions WHERE tenant_id = $1', [app.tenant]);
  expect(rows[0].n).toBe(0);
});

test('a health check host in brackets must be an IPv6 address: [AA] is refused, [::1] accepted', async () => {
  const target = (url: string) => s.call('POST', '/targets', s.admin, { name: `t-${Math.random().toString(36).slice(2, 8)}`, environmentId: env.id, healthCheck: { url } });
  for (const url of ['http://[AA]/health', 'http://[1:2:3]/', 'https://[::1::2]:8443/']) {
    const res = await target(url);
    expect([url, res.status]).toEqual([url, 400]);
    expect(fieldErrors(res.body).map((e) => e.field)).toContainEqual(expect.stringMatching(/^healthCheck/));
  }
  for (const url of ['http://[::1]:8080/health', 'http://[2001:db8::7]/', 'http://[::ffff:10.0.0.1]/']) expect([url, (await target(url)).status]).toEqual([url, 201]);
});

test('a note attachment’s URL is http or https only: javascript: and data: are refused', async () => {
  const sre = await app.token('sam@example.com', { roles: ['sre'] });
  const { id } = await createIncident(app, sre, { short_description: 'Attachments' });
  const note = (url: string) => app.http('POST', `/prod/api/incidents/${id}/notes`, { token: sre, body: { body: 'see attached', attachments: [{ name: 'x', url }] } });
  for (const url of ['javascript:alert(document.cookie)', 'data:text/html,<script>alert(1)</script>', 'ftp://files.example.com/x']) {
    const res = await note(url);
    expect([url, res.status]).toEqual([url, 400]);
    expect(fieldErrors(res.body)).toContainEqual(expect.objectContaining({ field: 'attachments.0.url' }));
  }
  expect((await note('https://files.example.com/dump.txt')).status).toBe(201);
});

test('Stella lists answer a garbage cursor 400 INVALID_CURSOR, as StackFlow lists do', async () => {
  for (const path of ['/promotions', '/environments', '/releases', '/targets']) {
    const stella = await app.http('GET', `/api/v1${path}?cursor=garbage`, { token: s.admin });
    const stackflow = await app.http('GET', `/prod/api${path}?cursor=garbage`, { token: s.admin });
    expect([path, stella.status, stella.body.error?.code]).toEqual([path, 400, 'INVALID_CURSOR']);
    expect([path, stackflow.status, stackflow.body.error?.code]).toEqual([path, 400, 'INVALID_CURSOR']);
  }
});

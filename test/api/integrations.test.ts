import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../scripts/stack/processes';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { startOciRegistry, type OciRegistry } from '../support/oci-registry';

/**
 * Integrations over HTTP: types and their JSON Schema, CRUD with configs
 * judged by the type's schema and secrets never served, test and discover run
 * on the worker against a real OCI registry (Debian's docker-registry behind
 * token auth) and a local webhook receiver that verifies the HMAC signature,
 * sync-versions pulling real tags and digests, and the health Schedule.
 */
let app: TestApp;
let admin: string;
let viewer: string;
let registry: OciRegistry;
const digests: Record<string, string> = {};
/** A port nothing listens on. */
let closed: string;

beforeAll(async () => {
  closed = `http://127.0.0.1:${await freePort()}`;
  registry = await startOciRegistry();
  for (const tag of ['1.0.0', '1.1.0', 'latest']) digests[tag] = await registry.push('team/web', tag);
  await registry.push('team/api', '0.9.0');
  app = await startTestApp({ env: { INTEGRATION_HEALTH_INTERVAL: '1s' } });
  admin = await app.token('rita@example.com', { roles: ['release-manager'] });
  viewer = await app.token('vic@example.com', { roles: ['viewer'] });
}, 120_000);
afterAll(async () => {
  await app?.close();
  await registry?.stop();
});

const registryBody = (name: string, extra: Record<string, unknown> = {}) => ({
  typeId: 'oci-registry',
  name,
  config: { url: registry.url, username: registry.username, password: registry.password, ...extra },
});

async function create(body: unknown) {
  const res = await app.http('POST', '/api/v1/integrations', { token: admin, body });
  expect(res.status).toBe(201);
  return res.body.data;
}

test('integration types publish their config as JSON Schema, with their secret fields', async () => {
  const list = await app.http('GET', '/api/v1/integration-types', { token: viewer });
  expect(list.status).toBe(200);
  expect(list.body.data.map((t: { kind: string }) => t.kind).sort()).toEqual(['container-registry', 'http-gate', 'metric-provider', 'notifier', 'traffic-provider']);
  const one = await app.http('GET', '/api/v1/integration-types/webhook', { token: viewer });
  expect(one.body.data).toMatchObject({ id: 'webhook', kind: 'notifier', secretFields: ['signingSecret'] });
  expect(one.body.data.configSchema).toMatchObject({ type: 'object', properties: { format: { enum: ['generic', 'slack', 'teams'] } }, additionalProperties: false });
  expect((await app.http('GET', '/api/v1/integration-types/ftp', { token: viewer })).status).toBe(404);
});

test('a secret is write-only: stored sealed, served as secretSet, kept when a PUT leaves it out', async () => {
  const created = await create(registryBody('secret-keeper'));
  expect(created.config).toEqual({ url: registry.url, username: 'ci', timeoutMs: 5000 });
  expect(created.secrets).toEqual({ password: { secretSet: true } });
  expect(JSON.stringify(created)).not.toContain(registry.password);
  const row = (await app.pool.query('SELECT config, secrets FROM integrations WHERE id = $1', [created.id])).rows[0];
  expect(JSON.stringify(row)).not.toContain(registry.password);
  expect(row.secrets).toMatch(/^v1\./);
  const audit = await app.pool.query("SELECT before, after FROM audit_log WHERE resource_id = $1", [created.id]);
  expect(audit.rows.length).toBeGreaterThan(0);
  expect(JSON.stringify(audit.rows)).not.toContain(registry.password);

  const put = await app.http('PUT', `/api/v1/integrations/${created.id}`, { token: admin, body: { typeId: 'oci-registry', name: 'secret-keeper', config: { url: registry.url, username: 'ci' } } });
  expect(put.status).toBe(200);
  expect(put.body.data).toMatchObject({ version: 2, secrets: { password: { secretSet: true } } });
  // The kept password still opens the registry.
  const tested = await app.http('POST', `/api/v1/integrations/${created.id}/test`, { token: admin });
  expect(tested.body.data).toMatchObject({ ok: true, reason: null, details: { apiVersion: 'registry/2.0' } });

  const viewed = await app.http('GET', `/api/v1/integrations/${created.id}`, { token: viewer });
  expect(viewed.status).toBe(200);
  expect(JSON.stringify(viewed.body)).not.toContain(registry.password);
  const listed = await app.http('GET', '/api/v1/integrations?typeId=oci-registry', { token: viewer });
  expect(listed.body.data.some((i: { id: string }) => i.id === created.id)).toBe(true);
});

test('a config is judged by its type: every bad field listed under config., unknown fields and types refused, nothing saved', async () => {
  const bad = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'webhook', name: 'bad', config: { url: 'ftp://x', format: 'fax', maxAttempts: 99, colour: 'red' } } });
  expect(bad.status).toBe(422);
  expect(bad.body.error.code).toBe('INVALID_CONFIG');
  expect(bad.body.error.validationErrors.map((e: { field: string }) => e.field).sort()).toEqual(['config.colour', 'config.format', 'config.maxAttempts', 'config.url']);
  const unknownType = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'ftp', name: 'x', config: {} } });
  expect(unknownType.status).toBe(400);
  expect(unknownType.body.error.validationErrors[0]).toMatchObject({ field: 'typeId' });
  const nul = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'webhook', name: 'n\u0000l', config: { url: `${closed}/\u0000` } } });
  expect(nul.status).toBe(400);
  const extra = await app.http('POST', '/api/v1/integrations', { token: admin, body: { ...registryBody('extra'), id: 'x' } });
  expect(extra.status).toBe(400);
  expect(extra.body.error.validationErrors[0]).toMatchObject({ field: 'id', code: 'unknown_field' });
  const huge = await app.http('POST', '/api/v1/integrations', { token: admin, raw: JSON.stringify({ ...registryBody('huge'), description: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } });
  expect(huge.status).toBe(413);
  expect((await app.pool.query("SELECT count(*)::int AS n FROM integrations WHERE name IN ('bad', 'x', 'extra', 'huge')")).rows[0].n).toBe(0);
  const dup = await create(registryBody('twice'));
  const again = await app.http('POST', '/api/v1/integrations', { token: admin, body: registryBody('TWICE') });
  expect(again.status).toBe(409);
  const retype = await app.http('PUT', `/api/v1/integrations/${dup.id}`, { token: admin, body: { typeId: 'webhook', name: 'twice', config: { url: `${closed}/` } } });
  expect(retype.status).toBe(422);
  expect(retype.body.error.code).toBe('TYPE_CHANGE');
  expect((await app.http('POST', '/api/v1/integrations', { token: viewer, body: registryBody('viewer') })).status).toBe(403);
});

test('discover lists the real registry’s repositories, tags and digests through its bearer-token challenge; sync-versions pulls them', async () => {
  const reg = await create(registryBody('real-registry'));
  const found = await app.http('POST', `/api/v1/integrations/${reg.id}/discover`, { token: admin });
  expect(found.status).toBe(200);
  expect(found.body.data.ok).toBe(true);
  const web = found.body.data.details.repositories.find((r: { name: string }) => r.name === 'team/web');
  expect(Object.fromEntries(web.tags.map((t: { tag: string; digest: string }) => [t.tag, t.digest]))).toEqual(digests);
  expect(registry.tokenScopes).toEqual(expect.arrayContaining(['registry:catalog:*', 'repository:team/web:pull']));

  const component = await app.http('POST', '/api/v1/components', { token: admin, body: { name: 'web-from-registry' } });
  expect(component.status).toBe(201);
  const sync = await app.http('POST', `/api/v1/components/${component.body.data.id}/sync-versions`, { token: admin, body: { fromRegistry: { integrationId: reg.id, repository: 'team/web' } } });
  expect(sync.status).toBe(200);
  expect(sync.body.data.added.sort()).toEqual(['1.0.0', '1.1.0', 'latest']);
  const versions = await app.http('GET', `/api/v1/components/${component.body.data.id}/versions`, { token: admin });
  expect(Object.fromEntries(versions.body.data.map((v: { version: string; digest: string }) => [v.version, v.digest]))).toEqual(digests);

  const missingRepo = await app.http('POST', `/api/v1/components/${component.body.data.id}/sync-versions`, { token: admin, body: { fromRegistry: { integrationId: reg.id, repository: 'team/none' } } });
  expect(missingRepo.status).toBe(502);
  expect(missingRepo.body.error.code).toBe('REGISTRY_UNREACHABLE');
  const both = await app.http('POST', `/api/v1/components/${component.body.data.id}/sync-versions`, { token: admin, body: { versions: [{ version: '1.0.0' }], fromRegistry: { integrationId: reg.id, repository: 'team/web' } } });
  expect(both.status).toBe(400);
});

test('wrong credentials and an unreachable registry answer ok:false with the reason; a webhook has nothing to discover', async () => {
  const wrong = await create(registryBody('wrong-password', { password: 'nope' }));
  const refused = await app.http('POST', `/api/v1/integrations/${wrong.id}/test`, { token: admin });
  expect(refused.body.data).toMatchObject({ ok: false, reason: expect.stringContaining('answered 401') });
  const down = await create({ typeId: 'oci-registry', name: 'down', config: { url: `${closed}`, timeoutMs: 1000 } });
  const unreachable = await app.http('POST', `/api/v1/integrations/${down.id}/test`, { token: admin });
  expect(unreachable.status).toBe(200);
  expect(unreachable.body.data).toMatchObject({ ok: false, reason: expect.stringContaining('ECONNREFUSED') });
  const hook = await create({ typeId: 'webhook', name: 'no-discovery', config: { url: `${closed}/` } });
  const nothing = await app.http('POST', `/api/v1/integrations/${hook.id}/discover`, { token: admin });
  expect(nothing.status).toBe(422);
  expect(nothing.body.error.code).toBe('DISCOVER_UNSUPPORTED');
});

describe('the webhook notifier', () => {
  let receiver: Server;
  let url: string;
  const SECRET = 'hmac-shared-secret';
  const seen: Array<{ attempt: string | undefined; verified: boolean; body: any }> = [];
  let failFirst = 0;

  beforeAll(async () => {
    receiver = createServer(async (req: IncomingMessage, res) => {
      // A service whose answer is not storable text as it stands.
      if (req.url?.endsWith('/unstorable')) return void res.writeHead(500).end('no\u0000pe');
      // The health schedules' HEADs: reachable, not a delivery.
      if (req.method !== 'POST') return void res.writeHead(200).end();
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString();
      const header = String(req.headers['x-tollgate-signature'] ?? '');
      const [, t, v1] = /^t=(\d+),v1=([a-f0-9]{64})$/.exec(header) ?? [];
      const verified = !!t && createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex') === v1;
      seen.push({ attempt: req.headers['x-tollgate-attempt'] as string | undefined, verified, body: JSON.parse(body) });
      if (!verified) return void res.writeHead(401).end('bad signature');
      if (failFirst > 0) {
        failFirst--;
        return void res.writeHead(503).end('busy');
      }
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  test('delivers signed, retries while the receiver answers 503, and the receiver verifies the HMAC', async () => {
    const hook = await create({ typeId: 'webhook', name: 'signed-slack', config: { url, format: 'slack', signingSecret: SECRET, maxAttempts: 3 } });
    expect(hook.secrets).toEqual({ signingSecret: { secretSet: true } });
    seen.length = 0;
    failFirst = 2;
    const res = await app.http('POST', `/api/v1/integrations/${hook.id}/test`, { token: admin });
    expect(res.body.data).toMatchObject({ ok: true, details: { attempts: 3, status: 204 } });
    expect(seen.map((s) => [s.attempt, s.verified])).toEqual([['1', true], ['2', true], ['3', true]]);
    expect(seen[0].body).toMatchObject({ text: expect.stringContaining('Tollgate test notification'), blocks: [{ type: 'section' }] });
  });

  test('a wrong signing secret is refused by the receiver (401), not retried, and the reason says so', async () => {
    const hook = await create({ typeId: 'webhook', name: 'wrong-secret-teams', config: { url, format: 'teams', signingSecret: 'not-the-secret', maxAttempts: 3 } });
    seen.length = 0;
    const res = await app.http('POST', `/api/v1/integrations/${hook.id}/test`, { token: admin });
    expect(res.body.data).toMatchObject({ ok: false, reason: expect.stringContaining('answered 401') });
    expect(seen).toHaveLength(1);
    expect(seen[0].body).toMatchObject({ '@type': 'MessageCard', title: 'Tollgate test notification' });
  });

  test("a template's notify step delivers through the integration: its format and signature, retried; no secret in the run", async () => {
    const hook = await create({ typeId: 'webhook', name: 'run-notifier', config: { url, format: 'generic', signingSecret: SECRET, maxAttempts: 3 } });
    const notice = { nodes: [{ id: 'tell', type: 'notify', inputs: { integrationId: hook.id, title: 'Release 2.4', text: 'staging is green' } }] };
    const template = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name: 'notify-through-integration', ...notice } });
    expect(template.status).toBe(201);
    seen.length = 0;
    failFirst = 1;
    const run = (await app.http('POST', '/api/v1/workflow-runs', { token: admin, body: { templateId: template.body.data.id, parameters: {} } })).body.data;
    const done = await until('the run to end', async () => {
      const res = await app.http('GET', `/api/v1/workflow-runs/${run.id}`, { token: admin });
      return ['succeeded', 'failed'].includes(res.body.data.status) ? res.body.data : undefined;
    }, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', nodes: [{ nodeId: 'tell', status: 'succeeded', outputs: { status: 204, attempts: 2 } }] });
    expect(seen.map((s) => [s.attempt, s.verified])).toEqual([['1', true], ['2', true]]);
    expect(seen[1].body).toMatchObject({ event: 'workflow-run.notify', title: 'Release 2.4', text: 'staging is green' });
    expect(JSON.stringify(done)).not.toContain(SECRET);
    // Both a url and an integration, or neither: refused at validation, naming the field.
    const both = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name: 'notify-both', nodes: [{ id: 'tell', type: 'notify', inputs: { url, integrationId: hook.id, text: 'x' } }] } });
    expect(both.status).toBe(422);
    expect(both.body.error.details.problems).toEqual([expect.objectContaining({ nodeId: 'tell', field: expect.stringContaining('url') })]);
    // An integration that does not notify fails the step with the reason.
    const registryHook = await create(registryBody('not-a-notifier'));
    const wrong = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name: 'notify-registry', nodes: [{ id: 'tell', type: 'notify', inputs: { integrationId: registryHook.id, text: 'x' } }] } });
    const failedRun = (await app.http('POST', '/api/v1/workflow-runs', { token: admin, body: { templateId: wrong.body.data.id, parameters: {} } })).body.data;
    const failed = await until('the run to fail', async () => {
      const res = await app.http('GET', `/api/v1/workflow-runs/${failedRun.id}`, { token: admin });
      return res.body.data.status === 'failed' ? res.body.data : undefined;
    }, 60_000);
    expect(JSON.stringify(failed.nodes[0])).toContain('NOT_A_NOTIFIER');
    failFirst = 0;
  });

  test('an answer carrying NUL is quoted cleaned (U+FFFD) in the reason, and recorded as the health', async () => {
    const gate = await create({ typeId: 'http-gate', name: 'unstorable-gate', config: { url: url.replace(/\/hook$/, '/unstorable') } });
    const res = await app.http('POST', `/api/v1/integrations/${gate.id}/test`, { token: admin });
    expect(res.body.data).toMatchObject({ ok: false, reason: expect.stringContaining('no\ufffdpe') });
    const health = await until('the health check to record it', async () => {
      const h = (await app.http('GET', `/api/v1/integrations/${gate.id}/health`, { token: admin })).body.data;
      return h.status === 'unhealthy' ? h : undefined;
    });
    expect(health.reason).toContain('no\ufffdpe');
  });

  test('retries stop at maxAttempts and the reason names the last answer', async () => {
    const hook = await create({ typeId: 'webhook', name: 'always-busy', config: { url, signingSecret: SECRET, maxAttempts: 2 } });
    seen.length = 0;
    failFirst = 5;
    const res = await app.http('POST', `/api/v1/integrations/${hook.id}/test`, { token: admin });
    expect(res.body.data).toMatchObject({ ok: false, reason: expect.stringMatching(/after 2 attempts; last: answered 503/) });
    expect(seen.map((s) => s.body.event)).toEqual(['integration.test', 'integration.test']);
    failFirst = 0;
  });
});

test('health comes from the durable Schedule: recorded in Postgres, unhealthy with the reason when it fails; delete removes the schedule', async () => {
  const good = await create(registryBody('health-good'));
  const bad = await create({ typeId: 'http-gate', name: 'health-bad', config: { url: `${closed}/ready`, timeoutMs: 500 } });
  const healthy = await until('the good integration to be checked', async () => {
    const res = await app.http('GET', `/api/v1/integrations/${good.id}/health`, { token: viewer });
    return res.body.data.status === 'unknown' ? undefined : res.body.data;
  }, 30_000);
  expect(healthy).toMatchObject({ integrationId: good.id, status: 'healthy', reason: null, intervalSeconds: 1 });
  const unhealthy = await until('the bad integration to be checked', async () => {
    const res = await app.http('GET', `/api/v1/integrations/${bad.id}/health`, { token: viewer });
    return res.body.data.status === 'unknown' ? undefined : res.body.data;
  }, 30_000);
  expect(unhealthy).toMatchObject({ status: 'unhealthy', reason: expect.stringContaining('ECONNREFUSED') });
  const row = (await app.pool.query('SELECT health, health_checked_at FROM integrations WHERE id = $1', [bad.id])).rows[0];
  expect(row.health).toMatchObject({ ok: false });
  const schedule = app.client.schedule.getHandle(`${app.tenant}:integration-health:${good.id}`);
  expect((await schedule.describe()).spec.intervals?.[0]?.every).toBe(1000);

  expect((await app.http('DELETE', `/api/v1/integrations/${good.id}`, { token: admin })).status).toBe(204);
  await expect(schedule.describe()).rejects.toThrow();
  expect((await app.http('GET', `/api/v1/integrations/${good.id}`, { token: admin })).status).toBe(404);
  expect((await app.http('DELETE', `/api/v1/integrations/${bad.id}`, { token: admin })).status).toBe(204);
}, 60_000);


test('another tenant sees none of it; a refused create leaves no schedule behind; a PUT makes a missing schedule again', async () => {
  const mine = await create(registryBody('tenant-bound'));
  const other = await app.token('otto@example.com', { roles: ['release-manager'], tenant: `other-${app.tenant}` });
  expect((await app.http('GET', `/api/v1/integrations/${mine.id}`, { token: other })).status).toBe(404);
  expect((await app.http('POST', `/api/v1/integrations/${mine.id}/test`, { token: other })).status).toBe(404);
  expect((await app.http('DELETE', `/api/v1/integrations/${mine.id}`, { token: other })).status).toBe(404);
  expect((await app.http('GET', '/api/v1/integrations', { token: other })).body.data).toEqual([]);

  expect((await app.http('POST', '/api/v1/integrations', { token: admin, body: registryBody('TENANT-BOUND') })).status).toBe(409);
  // Exactly one schedule per integration that exists (the list is eventually consistent: polled until it settles there).
  const rows = await app.pool.query<{ id: string }>('SELECT id FROM integrations WHERE tenant_id = $1', [app.tenant]);
  const expected = rows.rows.map((r) => `${app.tenant}:integration-health:${r.id}`).sort();
  await until('one schedule per integration', async () => JSON.stringify(await schedulesOf(app.tenant)) === JSON.stringify(expected), 20_000);

  const schedule = app.client.schedule.getHandle(`${app.tenant}:integration-health:${mine.id}`);
  await schedule.delete();
  const put = await app.http('PUT', `/api/v1/integrations/${mine.id}`, { token: admin, body: { ...registryBody('tenant-bound'), description: 'again' } });
  expect(put.status).toBe(200);
  expect((await schedule.describe()).action.workflowType).toBe('integrationCall');
});

async function schedulesOf(tenant: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of app.client.schedule.list()) if (s.scheduleId.startsWith(`${tenant}:integration-health:`)) ids.push(s.scheduleId);
  return ids.sort();
}

import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { API, createEnvironment, expectStatus, failure, get, post, refused, unique } from '../support/inventory';

/**
 * The deployment side of the inventory: a target's properties, health check and
 * agent, an environment's deployment settings, and a target's version sticker
 * and drift (the sticker against what its agent reports).
 */
let app: TestApp;
let manager: string;
let viewer: string;
let stranger: string;

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { AGENT_OFFLINE_AFTER: '30s' } });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  stranger = await app.token('rm@other.example.com', { roles: ['release-manager'], tenant: `${app.tenant}-other` });
});
afterAll(() => app?.close());

const call = (method: string, path: string, token: string, body?: unknown) => app.http(method, `${API}${path}`, { token, body });
const register = async (env: any, targets: string[] = []) =>
  expectStatus(await call('POST', '/agents/register', manager, { name: unique('agent').name, environmentId: env.id, targets }), 201);

describe('target fields', () => {
  test('properties, a health check and an agent round-trip through POST, GET, PUT and the list', async () => {
    const env = await createEnvironment(app, manager);
    const { agent } = await register(env);
    const body = {
      name: unique('web').name,
      environmentId: env.id,
      labels: { role: 'web' },
      properties: { PORT: '8081', health_path: '/healthz' },
      healthCheck: { url: 'http://127.0.0.1:8081/healthz' },
      agentId: agent.id,
    };
    const created = await post(app, manager, '/targets', body);
    expect(created).toEqual({
      id: expect.any(String),
      name: body.name,
      environmentId: env.id,
      labels: { role: 'web' },
      properties: { PORT: '8081', health_path: '/healthz' },
      healthCheck: { url: 'http://127.0.0.1:8081/healthz', command: null, retries: 3, intervalSeconds: 2, timeoutSeconds: 5 },
      agentId: agent.id,
      agentName: agent.name,
      ciId: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await get(app, viewer, `/targets/${created.id}`)).toEqual(created);
    expect((await get(app, viewer, `/targets?environmentId=${env.id}`)).find((t: any) => t.id === created.id)).toEqual(created);
    expect(expectStatus(await call('GET', `/agents/${agent.id}`, viewer), 200).targetIds).toEqual([created.id]);

    // What GET answers can be sent back as it is.
    const { id, createdAt, updatedAt, agentName, ...echo } = created;
    expect(expectStatus(await call('PUT', `/targets/${id}`, manager, echo), 200)).toMatchObject({ healthCheck: created.healthCheck, agentId: agent.id });

    // A command check with its own timing; a PUT that does not name the agent keeps it.
    const check = { command: 'curl -fsS localhost:8081/healthz', retries: 0, intervalSeconds: 1, timeoutSeconds: 120 };
    const updated = expectStatus(await call('PUT', `/targets/${id}`, manager, { name: body.name, environmentId: env.id, properties: { PORT: '9090' }, healthCheck: check }), 200);
    expect(updated).toMatchObject({ labels: {}, properties: { PORT: '9090' }, healthCheck: { url: null, ...check }, agentId: agent.id, agentName: agent.name });
    // null unassigns, and clears the health check.
    expect(expectStatus(await call('PUT', `/targets/${id}`, manager, { name: body.name, environmentId: env.id, agentId: null, healthCheck: null }), 200)).toMatchObject({
      agentId: null,
      agentName: null,
      healthCheck: null,
      properties: {},
    });
  });

  test('an agent must exist in the target’s environment: else 422 AGENT_NOT_FOUND; moving the target away drops its agent', async () => {
    const env = await createEnvironment(app, manager);
    const other = await createEnvironment(app, manager);
    const { agent } = await register(env);
    const { agent: otherAgent } = await register(other);
    const name = unique('host').name;
    expect(await failure(app, manager, 'POST', '/targets', 422, { name, environmentId: env.id, agentId: randomUUID() })).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect(await failure(app, manager, 'POST', '/targets', 422, { name, environmentId: env.id, agentId: otherAgent.id })).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    const target = await post(app, manager, '/targets', { name, environmentId: env.id, agentId: agent.id });
    expect(await failure(app, manager, 'PUT', `/targets/${target.id}`, 422, { name, environmentId: other.id, agentId: agent.id })).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    const moved = expectStatus(await call('PUT', `/targets/${target.id}`, manager, { name, environmentId: other.id }), 200);
    expect(moved).toMatchObject({ environmentId: other.id, agentId: null });
    expect(expectStatus(await call('PUT', `/targets/${target.id}`, manager, { name, environmentId: other.id, agentId: otherAgent.id }), 200).agentName).toBe(otherAgent.name);
    // Another tenant's agent does not exist here.
    const strangerEnv = await createEnvironment(app, stranger);
    expect(await failure(app, stranger, 'POST', '/targets', 422, { name: unique('x').name, environmentId: strangerEnv.id, agentId: agent.id })).toMatchObject({ code: 'AGENT_NOT_FOUND' });
  });

  test('PATCH of one property keeps the labels, the health check and the agent; moving the target drops its agent as PUT does', async () => {
    const env = await createEnvironment(app, manager);
    const other = await createEnvironment(app, manager);
    const { agent } = await register(env);
    const healthCheck = { url: 'http://127.0.0.1:4102/health', command: null, retries: 5, intervalSeconds: 1, timeoutSeconds: 5 };
    const target = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id, labels: { role: 'web' }, properties: { port: '4102' }, healthCheck, agentId: agent.id });
    const patched = expectStatus(await call('PATCH', `/targets/${target.id}`, manager, { properties: { fail_version: '2.0.0' } }), 200);
    expect(patched).toEqual({ ...target, properties: { port: '4102', fail_version: '2.0.0' }, updatedAt: expect.any(String) });
    expect(patched).toMatchObject({ labels: { role: 'web' }, healthCheck, agentId: agent.id, agentName: agent.name });
    expect(expectStatus(await call('PATCH', `/targets/${target.id}`, manager, { agentId: null }), 200)).toMatchObject({ agentId: null, healthCheck });
    expect(expectStatus(await call('PATCH', `/targets/${target.id}`, manager, { agentId: agent.id }), 200).agentId).toBe(agent.id);
    expect(await failure(app, manager, 'PATCH', `/targets/${target.id}`, 422, { environmentId: other.id, agentId: agent.id })).toMatchObject({ code: 'AGENT_NOT_FOUND' });
    expect(expectStatus(await call('PATCH', `/targets/${target.id}`, manager, { environmentId: other.id }), 200)).toMatchObject({ environmentId: other.id, agentId: null, properties: { port: '4102', fail_version: '2.0.0' } });
  });

  test('bad properties and health checks are 400s naming the field', async () => {
    const env = await createEnvironment(app, manager);
    const base = { name: 'x', environmentId: env.id };
    for (const neither of [{ url: 'http://a/h', command: 'true' }, { retries: 1 }, { url: null, command: null }]) {
      const [error] = await refused(app, manager, 'POST', '/targets', { ...base, healthCheck: neither }, 'healthCheck');
      expect(error.message).toBe('must give exactly one of url (http or https) and command');
    }
    await refused(app, manager, 'POST', '/targets', { ...base, healthCheck: { url: 'ftp://host/file' } }, 'healthCheck.url');
    await refused(app, manager, 'POST', '/targets', { ...base, healthCheck: { url: 'http://a/h', retries: 21 } }, 'healthCheck.retries');
    await refused(app, manager, 'POST', '/targets', { ...base, healthCheck: { command: 'true', intervalSeconds: 0 } }, 'healthCheck.intervalSeconds');
    await refused(app, manager, 'POST', '/targets', { ...base, properties: { 'has-dash': '1' } }, 'properties.has-dash');
    await refused(app, manager, 'POST', '/targets', { ...base, properties: { port: 8080 } }, 'properties.port');
    await refused(app, manager, 'POST', '/targets', { ...base, properties: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'properties');
    await refused(app, manager, 'POST', '/targets', { ...base, agentId: 'web-agent' }, 'agentId');
  });
});

describe('environment deployment settings', () => {
  test('strategy, failure policy, hook and health check round-trip; absent is null; bad values are 400s', async () => {
    const deployment = {
      strategy: { type: 'rolling', batchSize: 2, minHealthy: '75%' },
      failurePolicy: 'pause',
      deployHook: './deploy.sh',
      healthCheck: { url: 'https://example.com/health', retries: 5 },
    };
    const env = await createEnvironment(app, manager, { deployment });
    expect(env.deployment).toEqual({
      strategy: { type: 'rolling', batchSize: 2, maxUnavailable: null, minHealthy: '75%' },
      failurePolicy: 'pause',
      deployHook: './deploy.sh',
      healthCheck: { url: 'https://example.com/health', command: null, retries: 5, intervalSeconds: 2, timeoutSeconds: 5 },
    });
    expect((await get(app, viewer, `/environments/${env.id}`)).deployment).toEqual(env.deployment);
    const stored = (await app.pool.query('SELECT deployment FROM environments WHERE tenant_id = $1 AND id = $2', [app.tenant, env.id])).rows[0].deployment;
    expect(stored).toEqual(env.deployment);

    // PATCH changes one setting and keeps the others; PUT replaces them all.
    const one = expectStatus(await call('PATCH', `/environments/${env.id}`, manager, { deployment: { failurePolicy: 'rollback' } }), 200);
    expect(one.deployment).toEqual({ ...env.deployment, failurePolicy: 'rollback' });
    const partial = expectStatus(await call('PUT', `/environments/${env.id}`, manager, { name: env.name, order: env.order, deployment: { failurePolicy: 'rollback' } }), 200);
    expect(partial.deployment).toEqual({ failurePolicy: 'rollback' });
    expect(expectStatus(await call('PUT', `/environments/${env.id}`, manager, { name: env.name, order: env.order }), 200).deployment).toBeNull();
    expect((await createEnvironment(app, manager)).deployment).toBeNull();

    const envBody = { name: 'x', order: 9_999 };
    await refused(app, manager, 'POST', '/environments', { ...envBody, deployment: { strategy: { type: 'canary' } } }, 'deployment.strategy.type');
    await refused(app, manager, 'POST', '/environments', { ...envBody, deployment: { strategy: { type: 'rolling', minHealthy: '101%' } } }, 'deployment.strategy.minHealthy');
    await refused(app, manager, 'POST', '/environments', { ...envBody, deployment: { strategy: { type: 'rolling', batchSize: 0 } } }, 'deployment.strategy.batchSize');
    await refused(app, manager, 'POST', '/environments', { ...envBody, deployment: { failurePolicy: 'retry' } }, 'deployment.failurePolicy');
    await refused(app, manager, 'POST', '/environments', { ...envBody, deployment: { healthCheck: {} } }, 'deployment.healthCheck');
  });

  test('an environment an agent serves cannot be deleted (409 IN_USE counts it)', async () => {
    const env = await createEnvironment(app, manager);
    const { agent } = await register(env);
    expect(await failure(app, manager, 'DELETE', `/environments/${env.id}`, 409)).toMatchObject({ code: 'IN_USE', details: { agents: 1, targets: 0 } });
    expect((await call('DELETE', `/agents/${agent.id}`, manager)).status).toBe(204);
    expect((await call('DELETE', `/environments/${env.id}`, manager)).status).toBe(204);
  });
});

describe('stickers and drift', () => {
  async function setSticker(targetId: string, sticker: { releaseId: string; version: string }) {
    await app.pool.query(
      `INSERT INTO target_stickers (tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at)
       VALUES ($1,$2,$3,'shop',$4,$5,$6,$7,now())
       ON CONFLICT (tenant_id, target_id) DO UPDATE SET release_id = EXCLUDED.release_id, version = EXCLUDED.version`,
      [app.tenant, targetId, sticker.releaseId, sticker.version, JSON.stringify({ api: `sha256:${'a'.repeat(64)}`, web: null }), randomUUID(), randomUUID()],
    );
  }

  test('a target with no sticker is 404 NO_STICKER; once deployed the sticker says what, which job and when', async () => {
    const env = await createEnvironment(app, manager);
    const target = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    const none = await failure(app, viewer, 'GET', `/targets/${target.id}/sticker`, 404);
    expect(none).toMatchObject({ code: 'NO_STICKER', message: `Target ${target.name} has no version sticker yet: nothing was deployed to it` });
    expect((await failure(app, viewer, 'GET', `/targets/${randomUUID()}/sticker`, 404)).code).toBe('NOT_FOUND');

    const releaseId = randomUUID();
    await setSticker(target.id, { releaseId, version: '1.4.0' });
    const sticker = await get(app, viewer, `/targets/${target.id}/sticker`);
    expect(sticker).toEqual({
      targetId: target.id,
      releaseId,
      releaseName: 'shop',
      version: '1.4.0',
      digests: { api: `sha256:${'a'.repeat(64)}`, web: null },
      jobId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      taskId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      deployedAt: expect.any(String),
    });
    expect((await app.http('GET', `/prod/api/targets/${target.id}/sticker`, { token: viewer })).body).toEqual(sticker);
    await failure(app, stranger, 'GET', `/targets/${target.id}/sticker`, 404);
  });

  test('drift: no_sticker, unknown until the agent reports, in_sync, drifted when release or version differ or the target does not answer, unknown once the report is older than AGENT_OFFLINE_AFTER', async () => {
    const env = await createEnvironment(app, manager);
    const target = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    const { agent, credential } = await register(env, [target.name]);
    const releaseId = randomUUID();
    const driftOf = () => get(app, viewer, `/targets/${target.id}/drift`);

    expect(await driftOf()).toEqual({ targetId: target.id, status: 'no_sticker', expected: null, actual: null, reasons: [expect.any(String)] });

    await setSticker(target.id, { releaseId, version: '1.4.0' });
    const unknown = await driftOf();
    expect(unknown).toMatchObject({ status: 'unknown', expected: { releaseId, version: '1.4.0' }, actual: null, reasons: ['The agent has not reported what this target runs yet'] });

    await heartbeat(agent.id, credential, { targetId: target.id, releaseId, version: '1.4.0', healthy: true });
    expect(await driftOf()).toEqual({
      targetId: target.id,
      status: 'in_sync',
      expected: expect.objectContaining({ releaseId, version: '1.4.0' }),
      actual: { releaseId, version: '1.4.0', healthy: true, reportedAt: expect.any(String) },
      reasons: [],
    });

    await heartbeat(agent.id, credential, { targetId: target.id, releaseId, version: '1.3.9', healthy: true });
    const drifted = await driftOf();
    expect(drifted).toMatchObject({ status: 'drifted', actual: { releaseId, version: '1.3.9', healthy: true } });
    expect(drifted.reasons).toEqual([expect.stringContaining('1.3.9')]);

    // The probe failed: the agent still names what it deployed there, but the target does not answer.
    await heartbeat(agent.id, credential, { targetId: target.id, releaseId, version: '1.4.0', healthy: false });
    const silent = await driftOf();
    expect(silent).toMatchObject({ status: 'drifted', actual: { releaseId, version: '1.4.0', healthy: false } });
    expect(silent.reasons).toEqual([expect.stringMatching(/^Not answering: /)]);

    const otherRelease = randomUUID();
    await heartbeat(agent.id, credential, { targetId: target.id, releaseId: otherRelease, version: '1.4.0', healthy: true });
    expect((await driftOf()).reasons).toEqual([expect.stringContaining(otherRelease)]);
    await heartbeat(agent.id, credential, { targetId: target.id, releaseId: null, version: null, healthy: null });
    expect((await driftOf()).status).toBe('drifted');

    // A report older than AGENT_OFFLINE_AFTER (30 s here), when the agent counts as offline, says nothing about now.
    await heartbeat(agent.id, credential, { targetId: target.id, releaseId, version: '1.4.0', healthy: true });
    await app.pool.query(`UPDATE targets SET reported_at = now() - interval '25 seconds' WHERE tenant_id = $1 AND id = $2`, [app.tenant, target.id]);
    expect((await driftOf()).status).toBe('in_sync');
    await app.pool.query(`UPDATE targets SET reported_at = now() - interval '35 seconds' WHERE tenant_id = $1 AND id = $2`, [app.tenant, target.id]);
    const stale = await driftOf();
    expect(stale).toMatchObject({ status: 'unknown', actual: { releaseId, version: '1.4.0' } });
    expect(stale.reasons[0]).toContain('older than 30s (AGENT_OFFLINE_AFTER)');

    await failure(app, stranger, 'GET', `/targets/${target.id}/drift`, 404);
    await failure(app, viewer, 'GET', `/targets/${randomUUID()}/drift`, 404);
  });
});

async function heartbeat(agentId: string, credential: string, t: { targetId: string; releaseId: string | null; version: string | null; healthy: boolean | null }) {
  const res = await call('POST', `/agents/${agentId}/heartbeat`, credential, { targets: [t] });
  expect(res.status).toBe(200);
  expect(res.body.data.ignoredTargets).toEqual([]);
}

describe('a target write beside its agent’s heartbeat', () => {
  test('a PATCH while a heartbeat holds the agent row and then writes the target neither deadlocks nor answers 500', async () => {
    const env = await createEnvironment(app, manager);
    const { agent } = await register(env);
    const target = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id, properties: { PORT: '8081' }, agentId: agent.id });
    // What a heartbeat does, held open: the agent row first, then its targets.
    const beat = await app.pool.connect();
    try {
      await beat.query('BEGIN');
      await beat.query('UPDATE agents SET last_heartbeat_at = now() WHERE tenant_id = $1 AND id = $2', [app.tenant, agent.id]);
      let answered = false;
      const patched = call('PATCH', `/targets/${target.id}`, manager, { properties: { PORT: '9090' } }).finally(() => (answered = true));
      // Either the PATCH is done, or it holds the target's row and waits on the agent's (the deadlock's first half).
      await until('the PATCH to answer or to wait on the agent row', async () =>
        answered || Boolean((await app.pool.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM agents%'")).rowCount), 20_000, 50);
      // The PATCH, if it waited on the agent row while holding the target's, would now deadlock with this write.
      const wrote = beat.query('UPDATE targets SET reported_at = now() WHERE tenant_id = $1 AND id = $2', [app.tenant, target.id]);
      const answer = await patched;
      await wrote;
      await beat.query('COMMIT');
      expect(expectStatus(answer, 200).properties).toEqual({ PORT: '9090' });
    } catch (err) {
      await beat.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      beat.release();
    }
  });
});

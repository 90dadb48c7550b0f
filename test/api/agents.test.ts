import { createHash, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { startTestApp, type TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { API, auditOf, createEnvironment, expectStatus, failure, post, refused, unique } from '../support/inventory';

/**
 * The agents API over HTTP: registration with a single-purpose token, the
 * agent's own credential (which stops working the moment the agent is revoked
 * or deleted), heartbeats and status, and the calls an agent makes while it
 * runs a task: the ledger claim, log chunks and artifacts.
 */
let app: TestApp;
let manager: string;
let registrar: string;
let viewer: string;
let admin: string;
let stranger: string;

const LOG_CAP = 100;
const ARTIFACT_MAX = 2048;

beforeAll(async () => {
  app = await startTestApp({
    worker: false,
    env: { AGENT_OFFLINE_AFTER: '2s', AGENT_HEARTBEAT_INTERVAL: '1s', DEPLOY_LOG_CAP_BYTES: String(LOG_CAP), ARTIFACT_MAX_BYTES: String(ARTIFACT_MAX) },
  });
  manager = await app.token('rm@example.com', { roles: ['release-manager'] });
  registrar = await app.token('ci-bot', { roles: ['agent-registrar'] });
  viewer = await app.token('viewer@example.com', { roles: ['viewer'] });
  admin = await app.token('root@example.com', { roles: ['admin'] });
  stranger = await app.token('rm@other.example.com', { roles: ['release-manager'], tenant: `${app.tenant}-other` });
});
afterAll(() => app?.close());

async function register(token: string, body: Record<string, unknown>, status = 201) {
  return expectStatus(await app.http('POST', `${API}/agents/register`, { token, body }), status, 'register');
}

async function newAgent(env: any, body: Record<string, unknown> = {}) {
  return register(registrar, { name: unique('agent').name, environmentId: env.id, targets: [], ...body });
}

/** A deployment task of `agent`, as the deploymentJob workflow's persistence writes it. */
async function insertTask(agentId: string, targetId: string, overrides: { phase?: string; attempt?: number } = {}) {
  const task = { id: randomUUID(), jobId: randomUUID(), targetId, phase: overrides.phase ?? 'deploy', attempt: overrides.attempt ?? 1 };
  await app.pool.query(
    `INSERT INTO deployment_tasks (tenant_id, id, job_id, target_id, agent_id, phase, attempt, status, body) VALUES ($1,$2,$3,$4,$5,$6,$7,'running','{}')`,
    [app.tenant, task.id, task.jobId, targetId, agentId, task.phase, task.attempt],
  );
  return task;
}

const call = (method: string, path: string, token: string, body?: unknown) => app.http(method, `${API}${path}`, { token, body });

describe('registration', () => {
  test('a registrar token registers an agent: 201 with its credential, task queue and Temporal address; the targets whose labels match are taken over', async () => {
    const env = await createEnvironment(app, manager);
    const other = await createEnvironment(app, manager);
    const web1 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id, labels: { role: 'web', zone: 'a' } });
    const web2 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id, labels: { role: 'web' } });
    const db = await post(app, manager, '/targets', { name: unique('db').name, environmentId: env.id, labels: { role: 'db' } });
    const elsewhere = await post(app, manager, '/targets', { name: unique('web').name, environmentId: other.id, labels: { role: 'web' } });

    const res = await app.http('POST', `${API}/agents/register`, {
      token: registrar,
      body: { name: 'web-agent', environmentId: env.id, labels: { role: 'web' }, version: '1.0.0', capabilities: ['shell', 'http-health', 'shell'] },
    });
    expect(res.status).toBe(201);
    const answer = res.body.data;
    const id = answer.agent.id;
    expect(answer).toEqual({
      agent: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'web-agent',
        environmentId: env.id,
        labels: { role: 'web' },
        version: '1.0.0',
        capabilities: ['shell', 'http-health'],
        router: null,
        status: 'offline',
        lastHeartbeatAt: null,
        registeredAt: expect.any(String),
        registeredBy: 'ci-bot',
        updatedAt: expect.any(String),
        targetIds: expect.any(Array),
        taskQueue: `agent-${id}`,
      },
      credential: expect.stringMatching(/^tga_[0-9a-f]{32}_[A-Za-z0-9_-]{43,}$/),
      taskQueue: `agent-${id}`,
      workChannel: `/api/v1/agents/${id}/work`,
      heartbeatIntervalSeconds: 1,
    });
    expect([...answer.agent.targetIds].sort()).toEqual([web1.id, web2.id].sort());
    expect(res.headers.get('location')).toBe(`${API}/agents/${id}`);

    // Only the credential's hash is stored.
    const stored = (await app.pool.query('SELECT credential_hash FROM agents WHERE tenant_id = $1 AND id = $2', [app.tenant, id])).rows[0];
    expect(stored.credential_hash).toBe(createHash('sha256').update(answer.credential).digest('hex'));
    expect(JSON.stringify(await auditOf(app, id))).not.toContain(answer.credential);
    expect(await auditOf(app, id)).toEqual([expect.objectContaining({ action: 'agent.register', actor: 'ci-bot', resource_type: 'agent' })]);

    // The targets show their agent; the db target and the other environment's are untouched.
    const shown = expectStatus(await call('GET', `/targets/${web1.id}`, manager), 200);
    expect(shown).toMatchObject({ agentId: id, agentName: 'web-agent' });
    expect(expectStatus(await call('GET', `/targets/${db.id}`, manager), 200).agentId).toBeNull();
    expect(expectStatus(await call('GET', `/targets/${elsewhere.id}`, manager), 200).agentId).toBeNull();

    // The credential works from now on, in both dialects, with exactly the agent's permissions.
    expect(expectStatus(await call('GET', `/agents/${id}`, answer.credential), 200)).toEqual(answer.agent);
    expect((await app.http('GET', `/prod/api/agents/${id}`, { token: answer.credential })).body).toMatchObject({ id, name: 'web-agent' });
    expect((await call('GET', `/targets/${web1.id}`, answer.credential)).status).toBe(200);
    // Trusted with its own targets and nothing else: no other target (their properties may be secrets), no list of
    // agents, jobs or releases.
    expect(expectStatus(await call('GET', '/targets?pageSize=100', answer.credential), 200).map((t: any) => t.id).sort()).toEqual([web1.id, web2.id].sort());
    await failure(app, answer.credential, 'GET', `/targets/${db.id}`, 404);
    await failure(app, answer.credential, 'GET', `/agents/${randomUUID()}`, 403);
    for (const path of ['/agents', '/deployment-jobs', '/releases', '/environments', '/promotions']) await failure(app, answer.credential, 'GET', path, 403);
    expect((await failure(app, answer.credential, 'POST', '/agents/register', 403, { name: 'sneaky', environmentId: env.id })).code).toBe('FORBIDDEN');
    expect((await failure(app, answer.credential, 'PUT', `/agents/${id}`, 403, { name: 'x', labels: {}, revoked: false })).code).toBe('FORBIDDEN');
    await failure(app, answer.credential, 'POST', '/targets', 403, { name: 'x', environmentId: env.id });

    // The registration token is single-purpose: it can do nothing else.
    await failure(app, registrar, 'GET', '/agents', 403);
    await failure(app, registrar, 'GET', `/agents/${id}`, 403);
    await failure(app, registrar, 'GET', '/targets', 403);
    await failure(app, registrar, 'POST', `/agents/${id}/heartbeat`, 403, { targets: [] });
    await failure(app, registrar, 'DELETE', `/agents/${id}`, 403);
  });

  test('named targets are taken over whoever had them; a name not in the environment is 422 TARGET_NOT_FOUND naming it', async () => {
    const env = await createEnvironment(app, manager);
    const other = await createEnvironment(app, manager);
    const a = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id, labels: { role: 'web' } });
    const b = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id, labels: { role: 'db' } });
    const away = await post(app, manager, '/targets', { name: unique('host').name, environmentId: other.id });
    const first = await newAgent(env, { targets: undefined });
    expect([...first.agent.targetIds].sort()).toEqual([a.id, b.id].sort());

    const second = await register(manager, { name: unique('agent').name, environmentId: env.id, targets: [b.name.toUpperCase()] });
    expect(second.agent.targetIds).toEqual([b.id]);
    expect(expectStatus(await call('GET', `/agents/${first.agent.id}`, manager), 200).targetIds).toEqual([a.id]);

    const missing = await failure(app, registrar, 'POST', '/agents/register', 422, { name: unique('agent').name, environmentId: env.id, targets: [a.name, 'no-such-host', away.name] });
    expect(missing).toMatchObject({ code: 'TARGET_NOT_FOUND', details: { missing: ['no-such-host', away.name] } });
    expect(missing.message).toContain('no-such-host');
  });

  test('a duplicate name (any case) is 409, an unknown environment 422, a bad body 400, and only registrars may register', async () => {
    const env = await createEnvironment(app, manager);
    const name = unique('Agent').name;
    await register(registrar, { name, environmentId: env.id });
    // Another token: the registrar's own has registered this name already (REGISTRATION_TOKEN_USED, below).
    expect(await failure(app, manager, 'POST', '/agents/register', 409, { name: name.toLowerCase(), environmentId: env.id })).toMatchObject({ code: 'ALREADY_EXISTS' });
    const nowhere = '00000000-0000-4000-8000-000000000000';
    expect(await failure(app, registrar, 'POST', '/agents/register', 422, { name: unique('agent').name, environmentId: nowhere })).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
    expect(await failure(app, stranger, 'POST', '/agents/register', 422, { name: unique('agent').name, environmentId: env.id })).toMatchObject({ code: 'ENVIRONMENT_NOT_FOUND' });
    await refused(app, registrar, 'POST', '/agents/register', { environmentId: env.id }, 'name');
    await refused(app, registrar, 'POST', '/agents/register', { name: 'x', environmentId: env.id, labels: { 'bad key!': 'v' } }, 'labels.bad key!');
    await refused(app, registrar, 'POST', '/agents/register', { name: 'x', environmentId: env.id, capabilities: ['has space'] }, 'capabilities.0');
    await refused(app, registrar, 'POST', '/agents/register', { name: 'x', environmentId: env.id, credential: 'mine' }, 'credential');
    await failure(app, viewer, 'POST', '/agents/register', 403, { name: 'x', environmentId: env.id });
  });
});

describe('registration cannot steal', () => {
  async function online(agent: { agent: any; credential: string }) {
    return expectStatus(await call('POST', `/agents/${agent.agent.id}/heartbeat`, agent.credential, { targets: [] }), 200);
  }

  test('a named target of an online agent is 409 TARGET_OWNED naming it and its owner; takeOver needs agent:manage; the owner keeps it', async () => {
    const env = await createEnvironment(app, manager);
    const web1 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
    const web2 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
    const owner = await newAgent(env, { targets: [web1.name, web2.name] });
    await online(owner);

    // The attack as reported: a registration token names another agent's targets.
    const stolen = await failure(app, registrar, 'POST', '/agents/register', 409, { name: 'intruder', environmentId: env.id, targets: [web1.name, web2.name] });
    expect(stolen).toMatchObject({
      code: 'TARGET_OWNED',
      details: {
        owned: [
          { targetId: web1.id, target: web1.name, ownerId: owner.agent.id, owner: owner.agent.name },
          { targetId: web2.id, target: web2.name, ownerId: owner.agent.id, owner: owner.agent.name },
        ].sort((x, y) => x.target.localeCompare(y.target)),
      },
    });
    expect(stolen.message).toContain(`${web1.name} (agent ${owner.agent.name})`);
    // Saying takeOver is not enough without agent:manage; a manager without takeOver is refused too.
    expect(await failure(app, registrar, 'POST', '/agents/register', 403, { name: 'intruder', environmentId: env.id, targets: [web1.name], takeOver: true })).toMatchObject({
      code: 'FORBIDDEN',
      details: { required: 'agent:manage' },
    });
    expect((await failure(app, manager, 'POST', '/agents/register', 409, { name: 'intruder', environmentId: env.id, targets: [web1.name] })).code).toBe('TARGET_OWNED');
    expect((await failure(app, registrar, 'POST', '/agents/register', 403, { name: 'intruder', environmentId: env.id, takeOver: true })).details).toMatchObject({ required: 'agent:manage' });

    // Nothing moved, no agent was created, and the owner hears of no loss.
    expect([...expectStatus(await call('GET', `/agents/${owner.agent.id}`, manager), 200).targetIds].sort()).toEqual([web1.id, web2.id].sort());
    expect(expectStatus(await call('GET', `/agents?environmentId=${env.id}`, manager), 200).map((a: any) => a.name)).toEqual([owner.agent.name]);
    expect((await online(owner)).lostTargets).toEqual([]);
  });

  test('a take-over by agent:manage moves the targets, is audited on both agents, and the owner hears of it once, in its next heartbeat answer', async () => {
    const env = await createEnvironment(app, manager);
    const web1 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
    const web2 = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
    const owner = await newAgent(env, { targets: [web1.name, web2.name] });
    await online(owner);

    const newcomer = await register(manager, { name: unique('agent').name, environmentId: env.id, targets: [web1.name], takeOver: true });
    expect(newcomer.agent.targetIds).toEqual([web1.id]);
    expect(expectStatus(await call('GET', `/agents/${owner.agent.id}`, manager), 200).targetIds).toEqual([web2.id]);

    const ownerAudit = await auditOf(app, owner.agent.id);
    expect(ownerAudit.map((a) => a.action)).toEqual(['agent.register', 'agent.targets-taken']);
    expect(ownerAudit[1]).toMatchObject({
      actor: 'rm@example.com',
      before: { targetIds: [web1.id] },
      after: { takenBy: { agentId: newcomer.agent.id, name: newcomer.agent.name }, targets: [{ id: web1.id, name: web1.name }], takeOver: true },
    });
    expect((await auditOf(app, newcomer.agent.id))[0].after).toMatchObject({ takeOver: true, targetIds: [web1.id], takenFrom: [{ agentId: owner.agent.id, targets: [{ id: web1.id }] }] });

    const told = await online(owner);
    expect(told.lostTargets).toEqual([{ targetId: web1.id, targetName: web1.name, takenByAgentId: newcomer.agent.id, takenByAgentName: newcomer.agent.name, takenAt: expect.any(String) }]);
    expect(told.agent.targetIds).toEqual([web2.id]);
    // Its report of the lost target is not recorded, and it is told once.
    const again = expectStatus(await call('POST', `/agents/${owner.agent.id}/heartbeat`, owner.credential, { targets: [{ targetId: web1.id, releaseId: null, version: '1.0.0', healthy: true }] }), 200);
    expect(again).toMatchObject({ lostTargets: [], ignoredTargets: [web1.id] });
  });

  test('a target of an offline agent moves without takeOver; the agent is told when it comes back', async () => {
    const env = await createEnvironment(app, manager);
    const web = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
    const owner = await newAgent(env, { targets: [web.name] });
    // Registered but silent: offline.
    const taker = await newAgent(env, { targets: [web.name] });
    expect(taker.agent.targetIds).toEqual([web.id]);
    expect((await online(owner)).lostTargets).toEqual([expect.objectContaining({ targetId: web.id, takenByAgentId: taker.agent.id })]);
    expect((await auditOf(app, owner.agent.id)).map((a) => a.action)).toEqual(['agent.register', 'agent.targets-taken']);
  });
});

describe('eviction sticks: a registration token registers a name once', () => {
  test('a deleted agent cannot come back with the token it registered with (403 REGISTRATION_TOKEN_USED); a new token can', async () => {
    const env = await createEnvironment(app, manager);
    const web = await post(app, manager, '/targets', { name: unique('web').name, environmentId: env.id });
    const token = await app.token('fleet-bot', { roles: ['agent-registrar'] });
    const name = unique('agent').name;
    const first = await register(token, { name, environmentId: env.id, targets: [web.name] });
    expectStatus(await call('POST', `/agents/${first.agent.id}/heartbeat`, first.credential, { targets: [] }), 200);
    expect((await call('DELETE', `/agents/${first.agent.id}`, manager)).status).toBe(204);

    const again = await failure(app, token, 'POST', '/agents/register', 403, { name, environmentId: env.id, targets: [web.name] });
    expect(again).toMatchObject({ code: 'REGISTRATION_TOKEN_USED', details: { name, agentId: first.agent.id, registeredAt: expect.any(String) } });
    expect(again.message).toContain('new token');
    // In any case of the name, and the target stays without an agent.
    expect((await failure(app, token, 'POST', '/agents/register', 403, { name: name.toUpperCase(), environmentId: env.id })).code).toBe('REGISTRATION_TOKEN_USED');
    expect(expectStatus(await call('GET', `/targets/${web.id}`, manager), 200).agentId).toBeNull();

    // One token registers a fleet: other names are fine.
    await register(token, { name: unique('agent').name, environmentId: env.id });
    // The operator registers it again with a new token.
    const fresh = await app.token('fleet-bot', { roles: ['agent-registrar'], ttlSeconds: 3599 });
    expect(fresh).not.toBe(token);
    expect((await register(fresh, { name, environmentId: env.id, targets: [web.name] })).agent.targetIds).toEqual([web.id]);
    const used = await app.pool.query('SELECT agent_name, token_expires_at FROM agent_registration_tokens WHERE tenant_id = $1 AND name_key = lower($2) ORDER BY registered_at', [app.tenant, name]);
    expect(used.rows).toEqual([
      { agent_name: name, token_expires_at: expect.any(Date) },
      { agent_name: name, token_expires_at: expect.any(Date) },
    ]);
  });

  test('a revoked agent is refused with its token too; tokens with the same jti are one token', async () => {
    const env = await createEnvironment(app, manager);
    const jti = randomUUID();
    const token = await app.token('fleet-bot', { roles: ['agent-registrar'], claims: { jti } });
    const name = unique('agent').name;
    const agent = await register(token, { name, environmentId: env.id });
    expectStatus(await call('PUT', `/agents/${agent.agent.id}`, manager, { name, labels: {}, revoked: true }), 200);
    expect((await failure(app, token, 'POST', '/agents/register', 403, { name, environmentId: env.id })).code).toBe('REGISTRATION_TOKEN_USED');
    expect((await call('DELETE', `/agents/${agent.agent.id}`, manager)).status).toBe(204);
    const copy = await app.token('fleet-bot', { roles: ['agent-registrar'], claims: { jti }, ttlSeconds: 3598 });
    expect(copy).not.toBe(token);
    expect((await failure(app, copy, 'POST', '/agents/register', 403, { name, environmentId: env.id })).code).toBe('REGISTRATION_TOKEN_USED');
    // A refused registration uses nothing up: the same token registers a name it has not registered.
    await register(copy, { name: unique('agent').name, environmentId: env.id });
  });
});

describe('status, heartbeats and reads', () => {
  test('a heartbeat makes the agent online, records version, capabilities and what its own targets run; silence turns it offline', async () => {
    const env = await createEnvironment(app, manager);
    const mine = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    const notMine = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    const { agent, credential } = await newAgent(env, { targets: [mine.name], version: '0.9.0' });
    expect(agent.status).toBe('offline');

    const releaseId = randomUUID();
    const beat = await call('POST', `/agents/${agent.id}/heartbeat`, credential, {
      version: '1.0.0',
      capabilities: ['shell'],
      targets: [
        { targetId: mine.id, releaseId, version: '2.0.0', healthy: true },
        { targetId: notMine.id, releaseId, version: '2.0.0', healthy: true },
      ],
    });
    expect(beat.status).toBe(200);
    expect(beat.body.data).toEqual({
      agent: expect.objectContaining({ id: agent.id, status: 'online', version: '1.0.0', capabilities: ['shell'], lastHeartbeatAt: expect.any(String) }),
      serverTime: expect.any(String),
      offlineAfterSeconds: 2,
      ignoredTargets: [notMine.id],
      lostTargets: [],
    });
    const reported = await app.pool.query('SELECT id, reported, reported_at FROM targets WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [app.tenant, [mine.id, notMine.id]]);
    const byId = Object.fromEntries(reported.rows.map((r) => [r.id, r]));
    expect(byId[mine.id].reported).toEqual({ releaseId, version: '2.0.0', healthy: true });
    expect(byId[mine.id].reported_at).not.toBeNull();
    expect(byId[notMine.id].reported).toBeNull();

    // What a target says it runs is its own text: a NUL or half a pair there is kept as U+FFFD, not a refused heartbeat.
    const odd = await call('POST', `/agents/${agent.id}/heartbeat`, credential, { targets: [{ targetId: mine.id, releaseId: null, version: '2.0.0\u0000rc\ud800', healthy: true }] });
    expect(odd.status).toBe(200);
    expect((await app.pool.query('SELECT reported FROM targets WHERE tenant_id = $1 AND id = $2', [app.tenant, mine.id])).rows[0].reported).toEqual({ releaseId: null, version: '2.0.0\ufffdrc\ufffd', healthy: true });

    // A heartbeat that leaves out version and capabilities keeps them.
    expect(expectStatus(await call('POST', `/agents/${agent.id}/heartbeat`, credential, { targets: [] }), 200).agent).toMatchObject({ version: '1.0.0', capabilities: ['shell'] });
    expect(expectStatus(await call('GET', `/agents?environmentId=${env.id}&status=online`, viewer), 200).map((a: any) => a.id)).toEqual([agent.id]);

    // No heartbeat for AGENT_OFFLINE_AFTER (2 s here): offline.
    await eventually(async () => expect(expectStatus(await call('GET', `/agents/${agent.id}`, viewer), 200).status).toBe('offline'), { timeoutMs: 10_000 });
    expect(expectStatus(await call('GET', `/agents?environmentId=${env.id}&status=online`, viewer), 200)).toEqual([]);
    expect(expectStatus(await call('GET', `/agents?environmentId=${env.id}&status=offline`, viewer), 200).map((a: any) => a.id)).toEqual([agent.id]);
  });

  test('an agent reports the traffic router it drives at registration and in heartbeats; the agents API shows it; null clears it, absent keeps it; a bad one is 400', async () => {
    const env = await createEnvironment(app, manager);
    const { agent, credential } = await newAgent(env, { router: { provider: 'haproxy', listen: '127.0.0.1:8080' } });
    expect(agent.router).toEqual({ provider: 'haproxy', listen: '127.0.0.1:8080' });
    const none = await newAgent(env);
    expect(none.agent.router).toBeNull();
    await refused(app, registrar, 'POST', '/agents/register', { name: unique('agent').name, environmentId: env.id, router: { provider: 'envoy', listen: '127.0.0.1:1' } }, 'router.provider');
    await refused(app, registrar, 'POST', '/agents/register', { name: unique('agent').name, environmentId: env.id, router: { provider: 'haproxy', listen: 'no port' } }, 'router.listen');

    const beat = (body: Record<string, unknown>) => call('POST', `/agents/${agent.id}/heartbeat`, credential, { targets: [], ...body });
    expect(expectStatus(await beat({ router: { provider: 'webhook', listen: 'lb.example.com:443' } }), 200).agent.router).toEqual({ provider: 'webhook', listen: 'lb.example.com:443' });
    expect(expectStatus(await beat({}), 200).agent.router).toEqual({ provider: 'webhook', listen: 'lb.example.com:443' });
    expect(expectStatus(await call('GET', `/agents/${agent.id}`, viewer), 200).router).toEqual({ provider: 'webhook', listen: 'lb.example.com:443' });
    expect(expectStatus(await call('GET', `/agents?environmentId=${env.id}`, viewer), 200).find((a: any) => a.id === agent.id).router).toEqual({ provider: 'webhook', listen: 'lb.example.com:443' });
    expect(expectStatus(await beat({ router: null }), 200).agent.router).toBeNull();
    expect((await app.pool.query('SELECT router FROM agents WHERE tenant_id = $1 AND id = $2', [app.tenant, agent.id])).rows[0].router).toBeNull();
    expect((await beat({ router: { provider: 'nginx', listen: '' } })).status).toBe(400);
  });

  test('lists filter by environment and status and page in both dialects; deployment:read alone may read too', async () => {
    const env = await createEnvironment(app, manager);
    const made = [];
    for (const name of ['lb-c', 'lb-a', 'lb-b']) made.push((await register(registrar, { name: `${name}-${env.order}`, environmentId: env.id })).agent);
    const page = await call('GET', `/agents?environmentId=${env.id}&pageSize=2`, viewer);
    expect(page.body.data.map((a: any) => a.name)).toEqual([`lb-a-${env.order}`, `lb-b-${env.order}`]);
    expect(page.body.meta.pagination).toMatchObject({ page: 1, pageSize: 2, totalItems: 3, hasNext: true });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await app.http('GET', `/prod/api/agents?environmentId=${env.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: viewer });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(3);
      seen.push(...res.body.data.map((a: any) => a.name));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([`lb-a-${env.order}`, `lb-b-${env.order}`, `lb-c-${env.order}`]);
    const reader = await app.token('ops@example.com', { roles: [], permissions: ['deployment:read'] });
    expect(expectStatus(await call('GET', `/agents/${made[0].id}`, reader), 200).id).toBe(made[0].id);
    await refused(app, viewer, 'GET', '/agents?status=asleep', undefined, 'status');
    await refused(app, viewer, 'GET', '/agents?environmentId=prod', undefined, 'environmentId');
    await failure(app, viewer, 'GET', `/agents/${randomUUID()}`, 404);
  });
});

describe('revoking and deleting', () => {
  test('revoking stops the credential at once (401 AGENT_REVOKED), un-revoking restores it; renaming and relabelling are audited', async () => {
    const env = await createEnvironment(app, manager);
    const { agent, credential } = await newAgent(env);
    expect((await call('GET', `/agents/${agent.id}`, credential)).status).toBe(200);

    const revoked = await call('PUT', `/agents/${agent.id}`, manager, { name: 'renamed-agent', labels: { tier: 'gold' }, revoked: true });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data).toMatchObject({ name: 'renamed-agent', labels: { tier: 'gold' }, status: 'revoked' });
    const refusal = await call('POST', `/agents/${agent.id}/heartbeat`, credential, { targets: [] });
    expect(refusal.status).toBe(401);
    expect(refusal.body.error).toMatchObject({ code: 'AGENT_REVOKED', message: expect.stringContaining('revoked') });
    expect(refusal.headers.get('www-authenticate')).toBe('Bearer');
    expect(expectStatus(await call('GET', `/agents?environmentId=${env.id}&status=revoked`, viewer), 200).map((a: any) => a.id)).toEqual([agent.id]);

    expectStatus(await call('PUT', `/agents/${agent.id}`, manager, { name: 'renamed-agent', labels: {}, revoked: false }), 200);
    expect((await call('POST', `/agents/${agent.id}/heartbeat`, credential, { targets: [] })).status).toBe(200);
    expect((await auditOf(app, agent.id)).map((a) => a.action)).toEqual(['agent.register', 'agent.revoke', 'agent.restore']);

    await failure(app, viewer, 'PUT', `/agents/${agent.id}`, 403, { name: 'x', labels: {}, revoked: true });
    await failure(app, stranger, 'PUT', `/agents/${agent.id}`, 404, { name: 'x', labels: {}, revoked: true });
    await refused(app, manager, 'PUT', `/agents/${agent.id}`, { name: 'x', labels: {} }, 'revoked');
    const taken = (await newAgent(env)).agent;
    expect(await failure(app, manager, 'PUT', `/agents/${agent.id}`, 409, { name: taken.name.toUpperCase(), labels: {}, revoked: false })).toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  test('deleting stops the credential at once (401) and leaves its targets without an agent', async () => {
    const env = await createEnvironment(app, manager);
    const host = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    const { agent, credential } = await newAgent(env, { targets: [host.name] });
    await failure(app, stranger, 'DELETE', `/agents/${agent.id}`, 404);
    await failure(app, viewer, 'DELETE', `/agents/${agent.id}`, 403);
    expect((await call('DELETE', `/agents/${agent.id}`, manager)).status).toBe(204);
    const refusal = await call('GET', `/targets/${host.id}`, credential);
    expect(refusal.status).toBe(401);
    expect(refusal.body.error.code).toBe('AGENT_CREDENTIAL_INVALID');
    expect(expectStatus(await call('GET', `/targets/${host.id}`, manager), 200)).toMatchObject({ agentId: null, agentName: null });
    await failure(app, manager, 'GET', `/agents/${agent.id}`, 404);
    await failure(app, manager, 'DELETE', `/agents/${agent.id}`, 404);
    expect((await auditOf(app, agent.id)).map((a) => a.action)).toEqual(['agent.register', 'agent.delete']);
    // A made-up credential of the right shape is refused the same way.
    const forged = `tga_${agent.id.replace(/-/g, '')}_${Buffer.alloc(32, 7).toString('base64url')}`;
    expect((await call('GET', '/agents', forged)).body.error.code).toBe('AGENT_CREDENTIAL_INVALID');
    expect((await call('GET', '/agents', 'tga_short')).body.error.code).toBe('TOKEN_INVALID');
  });
});

describe('agent-only calls', () => {
  let env: any;
  let host: any;
  let mine: { agent: any; credential: string };
  let peer: { agent: any; credential: string };
  let theirs: { agent: any; credential: string };

  beforeAll(async () => {
    env = await createEnvironment(app, manager);
    host = await post(app, manager, '/targets', { name: unique('host').name, environmentId: env.id });
    mine = await newAgent(env, { targets: [host.name] });
    peer = await newAgent(env);
    const strangerEnv = await createEnvironment(app, stranger);
    theirs = await register(stranger, { name: unique('agent').name, environmentId: strangerEnv.id });
  });

  test("another agent's id is 403, another tenant's 404, and a person's token (even an admin's) 403", async () => {
    const task = await insertTask(mine.agent.id, host.id);
    const calls: Array<[string, string, unknown]> = [
      ['POST', 'heartbeat', { targets: [] }],
      ['POST', `tasks/${task.id}/claim`, { jobId: task.jobId, targetId: host.id, phase: 'deploy', attempt: 1 }],
      ['POST', `tasks/${task.id}/logs`, { offset: 0, data: 'x' }],
    ];
    for (const [method, rest, body] of calls) {
      expect((await failure(app, peer.credential, method, `/agents/${mine.agent.id}/${rest}`, 403, body)).code).toBe('AGENT_ONLY');
      await failure(app, mine.credential, method, `/agents/${theirs.agent.id}/${rest}`, 404, body);
      expect((await failure(app, theirs.credential, method, `/agents/${mine.agent.id}/${rest}`, 404, body)).code).toBe('NOT_FOUND');
      for (const person of [admin, manager]) expect((await failure(app, person, method, `/agents/${mine.agent.id}/${rest}`, 403, body)).code).toMatch(/AGENT_ONLY|FORBIDDEN/);
    }
    const upload = (token: string, agentId: string) =>
      app.http('PUT', `${API}/agents/${agentId}/tasks/${task.id}/artifacts/out.txt`, { token, raw: 'data', headers: { 'content-type': 'application/octet-stream' } });
    expect((await upload(peer.credential, mine.agent.id)).status).toBe(403);
    expect((await upload(admin, mine.agent.id)).status).toBe(403);
    expect((await upload(mine.credential, theirs.agent.id)).status).toBe(404);
    // Another tenant's agent sees nothing of this one (an agent reads no agent but itself).
    await failure(app, theirs.credential, 'GET', `/agents/${mine.agent.id}`, 403);
  });

  test("a task is claimed once: a second claim is 409 ALREADY_CLAIMED; a claim that does not match the task is 422; another agent's task 404", async () => {
    const task = await insertTask(mine.agent.id, host.id, { attempt: 2 });
    const claim = { jobId: task.jobId, targetId: host.id, phase: 'deploy', attempt: 2 };
    expect((await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/claim`, 422, { ...claim, attempt: 3 })).code).toBe('TASK_MISMATCH');
    expect((await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/claim`, 422, { ...claim, phase: 'rollback' })).code).toBe('TASK_MISMATCH');
    const first = await call('POST', `/agents/${mine.agent.id}/tasks/${task.id}/claim`, mine.credential, claim);
    expect(first.status).toBe(200);
    expect(first.body.data).toEqual({ claimed: true });
    const again = await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/claim`, 409, claim);
    expect(again).toMatchObject({ code: 'ALREADY_CLAIMED', details: { taskId: task.id, agentId: mine.agent.id, claimedAt: expect.any(String) } });
    const ledger = await app.pool.query('SELECT task_id, agent_id FROM deployment_ledger WHERE tenant_id = $1 AND job_id = $2', [app.tenant, task.jobId]);
    expect(ledger.rows).toEqual([{ task_id: task.id, agent_id: mine.agent.id }]);
    expect((await auditOf(app, task.id)).map((a) => a.action)).toEqual(['deployment_task.claim']);

    const peers = await insertTask(peer.agent.id, host.id);
    await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${peers.id}/claim`, 404, { jobId: peers.jobId, targetId: host.id, phase: 'deploy', attempt: 1 });
    await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${randomUUID()}/claim`, 404, claim);
  });

  test('a chunk resent from inside a surrogate pair keeps the character (it was refused, or stored as U+FFFD)', async () => {
    const task = await insertTask(mine.agent.id, host.id);
    const append = (offset: number, data: string) => call('POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, mine.credential, { offset, data });
    expect(expectStatus(await append(0, 'a😀'), 200)).toMatchObject({ size: 3 });
    // Offset 2 is the pair's low half: the log holds it already, only "b" is new.
    expect(expectStatus(await append(2, '😀b'.slice(1)), 200)).toMatchObject({ size: 4 });
    // A low half at the log's end has no high half anywhere: the agent is told where to send from.
    expect((await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, 409, { offset: 4, data: '\udc00x' })).code).toBe('LOG_OFFSET_GAP');
    const chunks = await app.pool.query('SELECT "offset", data FROM deployment_task_logs WHERE tenant_id = $1 AND task_id = $2 ORDER BY "offset"', [app.tenant, task.id]);
    expect(chunks.rows).toEqual([{ offset: 0, data: 'a😀' }, { offset: 3, data: 'b' }]);
    expect(expectStatus(await call('GET', `/deployment-jobs/${task.jobId}/tasks/${task.id}/logs`, manager), 200).data).toBe('a😀b');
  });

  test('log chunks append at their offset, a resent chunk is stored once, a gap is 409, and past the cap the head and the tail are kept; each write is announced', async () => {
    const task = await insertTask(mine.agent.id, host.id);
    const events = await listen();
    try {
      const append = (offset: number, data: string, extra: Record<string, unknown> = {}) => call('POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, mine.credential, { offset, data, ...extra });
      expect(expectStatus(await append(0, 'hello '), 200)).toEqual({ size: 6, capped: false, capBytes: LOG_CAP });
      // Resent with more: only what the server lacks is kept.
      expect(expectStatus(await append(0, 'hello world\n'), 200)).toEqual({ size: 12, capped: false, capBytes: LOG_CAP });
      expect(expectStatus(await append(6, 'world\n'), 200)).toEqual({ size: 12, capped: false, capBytes: LOG_CAP });
      const gap = await failure(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, 409, { offset: 20, data: 'later' });
      expect(gap).toMatchObject({ code: 'LOG_OFFSET_GAP', details: { size: 12 } });
      // Past the cap (100 characters here) the first 50 stay, and a rolling tail of the last 50: the offsets count everything.
      expect(expectStatus(await append(12, 'x'.repeat(200)), 200)).toEqual({ size: 212, capped: true, capBytes: LOG_CAP });
      // The agent's closing lines come last, and are what the tail keeps.
      expect(expectStatus(await append(212, '[tollgate] failed: HOOK_FAILED: exit 3\n', { stoppedBy: 'SIGTERM' }), 200)).toEqual({ size: 251, capped: true, capBytes: LOG_CAP });
      const ending = '[tollgate] failed: HOOK_FAILED: exit 3\n';

      const chunks = await app.pool.query('SELECT "offset", data FROM deployment_task_logs WHERE tenant_id = $1 AND task_id = $2 ORDER BY "offset"', [app.tenant, task.id]);
      expect(chunks.rows).toEqual([
        { offset: 0, data: 'hello ' },
        { offset: 6, data: 'world\n' },
        { offset: 12, data: 'x'.repeat(38) },
        { offset: 201, data: 'x'.repeat(11) },
        { offset: 212, data: ending },
      ]);
      const row = (await app.pool.query('SELECT log_size, log_capped, stopped_by FROM deployment_tasks WHERE tenant_id = $1 AND id = $2', [app.tenant, task.id])).rows[0];
      expect(row).toEqual({ log_size: 251, log_capped: true, stopped_by: 'SIGTERM' });
      await eventually(() => expect(events.seen.filter((e) => e.taskId === task.id)).toContainEqual({ tenantId: app.tenant, kind: 'log', jobId: task.jobId, taskId: task.id, agentId: mine.agent.id }));

      // Read back: the head, one marker line where 151 characters were dropped, then the tail with the agent's last line.
      const read = expectStatus(await call('GET', `/deployment-jobs/${task.jobId}/tasks/${task.id}/logs`, manager), 200);
      expect(read).toMatchObject({ offset: 0, nextOffset: 251, size: 251, capped: true });
      expect(read.data).toBe(`hello world\n${'x'.repeat(38)}\n[tollgate] … 151 characters of this log were dropped here: past DEPLOY_LOG_CAP_BYTES it keeps its head and its tail …\n${'x'.repeat(11)}${ending}`);

      await refused(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, { offset: -1, data: 'x' }, 'offset');
      await refused(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, { offset: 0, data: 'x'.repeat(256 * 1024 + 1) }, 'data');
      await refused(app, mine.credential, 'POST', `/agents/${mine.agent.id}/tasks/${task.id}/logs`, { offset: 0, data: 'x', stoppedBy: 'SIGHUP' }, 'stoppedBy');
    } finally {
      await events.close();
    }
  });

  test('an artifact is stored with its size and sha256, replaced under the same name, refused past ARTIFACT_MAX_BYTES (413), and announced', async () => {
    const task = await insertTask(mine.agent.id, host.id);
    const events = await listen();
    try {
      const upload = (name: string, raw: string) =>
        app.http('PUT', `${API}/agents/${mine.agent.id}/tasks/${task.id}/artifacts/${name}`, { token: mine.credential, raw, headers: { 'content-type': 'application/octet-stream' } });
      const content = 'build report\n'.repeat(10);
      const res = await upload('report.txt', content);
      expect(res.status).toBe(201);
      const artifact = res.body.data;
      expect(artifact).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        jobId: task.jobId,
        taskId: task.id,
        name: 'report.txt',
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        createdAt: expect.any(String),
      });
      const stored = (await app.pool.query('SELECT content FROM deployment_artifacts WHERE tenant_id = $1 AND id = $2', [app.tenant, artifact.id])).rows[0];
      expect(stored.content.toString()).toBe(content);
      await eventually(() => expect(events.seen).toContainEqual({ tenantId: app.tenant, kind: 'artifact', jobId: task.jobId, taskId: task.id, agentId: mine.agent.id }));

      const again = expectStatus(await upload('report.txt', 'v2'), 201);
      expect(again).toMatchObject({ id: artifact.id, size: 2, sha256: createHash('sha256').update('v2').digest('hex') });

      // The JSON body limit does not apply, this route's own does.
      expect(expectStatus(await upload('big.bin', 'b'.repeat(ARTIFACT_MAX)), 201).size).toBe(ARTIFACT_MAX);
      const tooBig = await upload('huge.bin', 'b'.repeat(ARTIFACT_MAX + 1));
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: ARTIFACT_MAX } });
      expect((await app.pool.query('SELECT name FROM deployment_artifacts WHERE tenant_id = $1 AND task_id = $2 ORDER BY name', [app.tenant, task.id])).rows.map((r) => r.name)).toEqual(['big.bin', 'report.txt']);

      const badName = await upload('..%2Fetc', 'x');
      expect(badName.status).toBe(400);
      expect((await upload('a b', 'x')).status).toBe(400);
      expect((await app.http('PUT', `${API}/agents/${mine.agent.id}/tasks/${randomUUID()}/artifacts/x.txt`, { token: mine.credential, raw: 'x' })).status).toBe(404);
    } finally {
      await events.close();
    }
  });
});

/** Collects the deployment change events Postgres delivers on the shared channel. */
async function listen(): Promise<{ seen: any[]; close(): Promise<void> }> {
  const client = new Client({ connectionString: app.config.DATABASE_URL });
  await client.connect();
  const seen: any[] = [];
  client.on('notification', (n) => seen.push(JSON.parse(n.payload ?? '{}')));
  await client.query('LISTEN tollgate_deployments');
  return { seen, close: () => client.end() };
}

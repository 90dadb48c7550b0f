import { Client, Connection } from '@temporalio/client';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app';
import { eventually, until } from '../support/eventually';
import { spawnTs, waitForOutput } from '../support/processes';
import { scene, type Scene } from '../support/promotion-scene';
import { IN_FLIGHT } from '../../domain/promotions/state-machine';

/**
 * Zero-trust agents: an agent host holds its own Tollgate credential and nothing else. Tasks reach it over its work
 * channel (WS /agents/{id}/work); it heartbeats and reports through the API, which alone holds the task token and
 * talks to Temporal. Each attack the issue names, as a rogue would try it over real sockets:
 * - no credential reaches nothing; agent B's credential cannot open A's channel or touch A's tasks;
 * - a `succeeded` with no ledger claim fails the task (UNCLAIMED_RESULT) and moves no sticker;
 * - a target's secret never sits in Temporal's history in clear; the codec endpoint decodes it only for an
 *   operator of the same tenant holding temporal:decode.
 */

let app: TestApp;
let s: Scene;
let env: any;
let release: any;
let target: any;
let agentA: { id: string; credential: string };
let agentB: { id: string; credential: string };
const sockets: WebSocket[] = [];

const SECRET = 'hunter2-never-in-history';

beforeAll(async () => {
  app = await startTestApp({ env: { DEPLOY_HEARTBEAT_TIMEOUT: '5s', DEPLOY_PICKUP_TIMEOUT: '20s', AGENT_OFFLINE_AFTER: '30s' } });
  s = await scene(app, app.tenant);
  env = await s.expect(201, 'POST', '/environments', s.admin, {
    name: 'Production',
    order: 1,
    requiredApprovals: 0,
    requireSod: false,
    deployment: { strategy: { type: 'all-at-once' }, failurePolicy: 'pause' },
  });
  const component = await s.expect(201, 'POST', '/components', s.admin, { name: 'svc', repository: 'registry.example.com/svc', deployHook: 'true' });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0', digest: `sha256:${'a'.repeat(64)}` }] });
  release = await s.expect(201, 'POST', '/releases', s.admin, { name: 'svc-1.0.0', version: '1.0.0', components: [{ componentId: component.id, version: '1.0.0' }], securityScan: { criticalCount: 0, highCount: 0 } });
  target = await s.expect(201, 'POST', '/targets', s.admin, { name: 'web-1', environmentId: env.id, labels: { role: 'web' }, properties: { port: '8080', db_password: SECRET } });
  const registrar = await s.token('registrar@example.com', { roles: ['agent-registrar'] });
  const a = await s.expect(201, 'POST', '/agents/register', registrar, { name: 'agent-a', environmentId: env.id, targets: ['web-1'] });
  const b = await s.expect(201, 'POST', '/agents/register', registrar, { name: 'agent-b', environmentId: env.id });
  agentA = { id: a.agent.id, credential: a.credential };
  agentB = { id: b.agent.id, credential: b.credential };
  // The registration answer names where tasks come from, and no Temporal to poll.
  expect(a).not.toHaveProperty('temporal');
  expect(a.workChannel).toBe(`/api/v1/agents/${agentA.id}/work`);
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await app?.close();
});

interface Opened {
  ws: WebSocket;
  messages: any[];
  next(type: string, timeoutMs?: number): Promise<any>;
}

/** Opens a work channel as a process would; resolves with its messages, or rejects with the HTTP status it was refused with. */
function openChannel(agentId: string, credential?: string): Promise<Opened> {
  const url = `${app.url.replace(/^http/, 'ws')}/api/v1/agents/${agentId}/work`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, credential ? { headers: { Authorization: `Bearer ${credential}` } } : {});
    sockets.push(ws);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.on('error', (err) => reject(err));
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        next: (type, timeoutMs = 30_000) =>
          until(`a ${type} message`, () => {
            const at = messages.findIndex((m) => m.type === type);
            return at >= 0 ? messages.splice(at, 1)[0] : undefined;
          }, timeoutMs, 50),
      }),
    );
  });
}

/** The promotion has left the states that hold its release and environment (the next test promotes the same pair). */
async function settled(promotionId: string): Promise<void> {
  await eventually(async () => expect(IN_FLIGHT).not.toContain((await s.expect(200, 'GET', `/promotions/${promotionId}`)).status), { timeoutMs: 30_000 });
}

const refusal = (p: Promise<unknown>) => p.then(() => ({ status: 101, body: undefined as any }), (err) => err as { status: number; body: any });

test('no credential, another agent’s credential or a person’s token opens no work channel', async () => {
  expect((await refusal(openChannel(agentA.id))).status).toBe(401);
  expect((await refusal(openChannel(agentA.id, agentB.credential))).status).toBe(403);
  // The same refusal without the upgrade, to read its body.
  expect((await s.call('GET', `/agents/${agentA.id}/work`, agentB.credential)).body.error.code).toBe('AGENT_ONLY');
  expect((await s.call('GET', `/agents/${agentA.id}/work`, agentA.credential)).status).toBe(426);
  const person = await refusal(openChannel(agentA.id, s.admin));
  expect(person.status).toBe(403);
  expect((await refusal(openChannel(agentA.id, `tga_${agentA.id.replace(/-/g, '')}_${Buffer.alloc(32, 1).toString('base64url')}`))).status).toBe(401);
});

test('a rogue holding A’s credential answers `succeeded` without claiming: the task fails UNCLAIMED_RESULT and no sticker moves; B cannot touch A’s task', async () => {
  const channel = await openChannel(agentA.id, agentA.credential);
  expect(await channel.next('ready')).toEqual({ type: 'ready', agentId: agentA.id });

  const promotion = await s.expect(201, 'POST', '/promotions', s.admin, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'attack' });
  const task = await channel.next('task');
  expect(task).toMatchObject({ activity: 'deployTarget', input: { tenantId: app.tenant, target: { id: target.id, properties: { db_password: SECRET } } } });
  const { deliveryId } = task;

  // Another agent of the tenant can neither heartbeat nor complete it: not by its own path, not by A's.
  const asB = (path: string, body: unknown) => s.call('POST', path, agentB.credential, body);
  expect((await asB(`/agents/${agentB.id}/deliveries/${deliveryId}/heartbeat`, {})).body.error.code).toBe('DELIVERY_NOT_FOUND');
  expect((await asB(`/agents/${agentA.id}/deliveries/${deliveryId}/heartbeat`, {})).status).toBe(403);
  const forged = { status: 'completed', result: { outcome: 'succeeded', exitCode: 0, healthChecks: 0, error: null, alreadyClaimed: false, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() } };
  expect((await asB(`/agents/${agentB.id}/deliveries/${deliveryId}/result`, forged)).status).toBe(404);
  expect((await s.call('POST', `/agents/${agentA.id}/deliveries/${deliveryId}/result`, undefined, forged)).status).toBe(401);
  expect((await s.call('POST', `/agents/${agentA.id}/deliveries/${deliveryId}/result`, s.admin, forged)).status).toBe(403);

  // A itself heartbeats (fine) and then claims success without a ledger claim: recorded as a failure.
  expect(await s.expect(200, 'POST', `/agents/${agentA.id}/deliveries/${deliveryId}/heartbeat`, agentA.credential, { details: { stage: 'pretending' } })).toEqual({ cancelRequested: false });
  expect(await s.expect(200, 'POST', `/agents/${agentA.id}/deliveries/${deliveryId}/result`, agentA.credential, forged)).toEqual({ outcome: 'unclaimed', alreadyRecorded: false });
  // Sent again, the first answer stands.
  expect(await s.expect(200, 'POST', `/agents/${agentA.id}/deliveries/${deliveryId}/result`, agentA.credential, forged)).toEqual({ outcome: 'unclaimed', alreadyRecorded: true });

  const job = await until('the deployment job', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotion.id}`))[0], 30_000);
  const failed = await eventually(async () => {
    const tasks = await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks?pageSize=100`);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ targetId: target.id, status: 'failed', error: { code: 'UNCLAIMED_RESULT' } });
    return tasks[0];
  }, { timeoutMs: 30_000 });
  expect(failed.error.message).toContain(agentA.id);
  expect((await s.call('GET', `/targets/${target.id}/sticker`, s.admin)).status).toBe(404);
  const audit = await app.pool.query("SELECT actor, after FROM audit_log WHERE tenant_id = $1 AND action = 'deployment_task.unclaimed_result'", [app.tenant]);
  expect(audit.rows).toEqual([expect.objectContaining({ actor: `agent:${agentA.id}`, after: expect.objectContaining({ deliveryId, recorded: 'failed: UNCLAIMED_RESULT' }) })]);

  // The job paused on the failure: end it so nothing is left waiting.
  await eventually(async () => expect((await s.expect(200, 'GET', `/deployment-jobs/${job.id}`)).status).toBe('paused'), { timeoutMs: 30_000 });
  await s.expect(200, 'POST', `/deployment-jobs/${job.id}/abort`, s.admin, { taskId: failed.id, reason: 'attack test over' });
  await settled(promotion.id);
  channel.ws.close();
});

test('a report quoting a target’s NUL and half a surrogate pair is kept as U+FFFD (it was refused, leaving the task running); the job ends', async () => {
  const channel = await openChannel(agentA.id, agentA.credential);
  await channel.next('ready');
  const promotion = await s.expect(201, 'POST', '/promotions', s.admin, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'unstorable answer' });
  const { deliveryId } = await channel.next('task');
  const path = `/agents/${agentA.id}/deliveries/${deliveryId}`;
  // What an agent that does not clean its reports would send, as JSON escapes.
  const said = 'GET http://web-1:8080/health answered 503: bad\u0000body \ud800 end';
  expect(await s.expect(200, 'POST', `${path}/heartbeat`, agentA.credential, { details: { stage: said } })).toEqual({ cancelRequested: false });
  await s.expect(200, 'POST', `${path}/result`, agentA.credential, { status: 'failed', error: { message: said, type: 'HEALTH_CHECK_FAILED', nonRetryable: true } });

  const job = await until('the deployment job', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotion.id}`))[0], 30_000);
  const failed = await eventually(async () => {
    const [task] = await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks?pageSize=100`);
    expect(task).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('bad\ufffdbody \ufffd end') } });
    return task;
  }, { timeoutMs: 30_000 });
  expect(JSON.stringify(failed)).not.toMatch(/\\u0000|\\ud800/);
  await eventually(async () => expect((await s.expect(200, 'GET', `/deployment-jobs/${job.id}`)).status).toBe('paused'), { timeoutMs: 30_000 });
  await s.expect(200, 'POST', `/deployment-jobs/${job.id}/abort`, s.admin, { taskId: failed.id, reason: 'unstorable answer test over' });
  await settled(promotion.id);
  await eventually(async () => expect(['failed', 'cancelled']).toContain((await s.expect(200, 'GET', `/deployment-jobs/${job.id}`)).status), { timeoutMs: 30_000 });
  channel.ws.close();
});

test('a rogue worker process polling A’s queue on Temporal directly, even holding the payload key, moves no sticker: its success has no ledger claim', async () => {
  const rogue = spawnTs('test/support/rogue-worker.ts', {
    ROGUE_TEMPORAL_ADDRESS: app.config.TEMPORAL_ADDRESS,
    ROGUE_TASK_QUEUE: `agent-${agentA.id}`,
    ROGUE_DATA_DIR: app.config.DATA_DIR,
  });
  try {
    await waitForOutput(rogue, /rogue polling/, 60_000);
    const promotion = await s.expect(201, 'POST', '/promotions', s.admin, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'rogue worker' });
    const job = await until('the deployment job', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${promotion.id}`))[0], 30_000);
    await waitForOutput(rogue, /rogue answered a deployTarget/, 60_000);
    const failed = await eventually(async () => {
      const tasks = await s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks?pageSize=100`);
      expect(tasks[0]).toMatchObject({ status: 'failed', exitCode: null, error: { code: 'UNCLAIMED_RESULT' } });
      return tasks[0];
    }, { timeoutMs: 60_000 });
    expect((await s.call('GET', `/targets/${target.id}/sticker`, s.admin)).status).toBe(404);
    await eventually(async () => expect((await s.expect(200, 'GET', `/deployment-jobs/${job.id}`)).status).toBe('paused'), { timeoutMs: 30_000 });
    await s.expect(200, 'POST', `/deployment-jobs/${job.id}/abort`, s.admin, { taskId: failed.id, reason: 'rogue test over' });
    await settled(promotion.id);
  } finally {
    rogue.child.kill('SIGKILL');
    await rogue.exited;
  }
});

test('the target’s secret is ciphertext in Temporal’s history; the codec endpoint decodes it for the same tenant’s operators only', async () => {
  const { rows } = await app.pool.query('SELECT workflow_id FROM agent_deliveries WHERE tenant_id = $1 LIMIT 1', [app.tenant]);
  expect(rows).toHaveLength(1);
  const connection = await Connection.connect({ address: app.config.TEMPORAL_ADDRESS });
  try {
    // Read as anyone with network access to Temporal would: no key.
    const bare = new Client({ connection, namespace: app.config.TEMPORAL_NAMESPACE });
    const history = await bare.workflow.getHandle(rows[0].workflow_id).fetchHistory();
    const payloads = collectPayloads(history);
    expect(payloads.length).toBeGreaterThan(5);
    const raw = Buffer.concat(payloads.map((p) => Buffer.from(p.data ?? []))).toString('latin1');
    expect(raw).not.toContain(SECRET);
    expect(raw).not.toContain('db_password');
    const encodings = payloads.map((p) => Buffer.from(p.metadata?.encoding ?? []).toString());
    expect(encodings).toContain('binary/encrypted');

    const wire = { payloads: payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('base64')])), data: Buffer.from(p.data ?? []).toString('base64') })) };
    const decodedText = (body: any) => body.payloads.map((p: any) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');

    const operator = await s.expect(200, 'POST', '/temporal-codec/decode', s.admin, wire);
    expect(decodedText(operator)).toContain(SECRET);

    const strangerAdmin = await app.token('other-admin@example.com', { tenant: 'another-tenant', roles: ['release-manager'] });
    const stranger = await s.call('POST', '/temporal-codec/decode', strangerAdmin, wire);
    expect(stranger.status).toBe(200);
    expect(decodedText(stranger.body)).not.toContain(SECRET);
    expect(Number(stranger.headers.get('x-tollgate-undecoded'))).toBeGreaterThan(0);

    const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
    expect((await s.call('POST', '/temporal-codec/decode', viewer, wire)).status).toBe(403);
    expect((await s.call('POST', '/temporal-codec/decode', agentA.credential, wire)).status).toBe(403);
    expect((await s.call('POST', '/temporal-codec/decode', undefined, wire)).status).toBe(401);
    expect((await s.call('POST', '/temporal-codec/decode', s.admin, { payloads: [{ data: 'not base64!' }] })).status).toBe(400);

    // The Temporal UI's browser asks first (no token on a preflight), from the UI's origin only.
    const origin = new URL(app.config.TEMPORAL_UI_URL).origin;
    const preflight = await fetch(`${app.url}/api/v1/temporal-codec/decode`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,x-namespace' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const elsewhere = await fetch(`${app.url}/api/v1/temporal-codec/decode`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' } });
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  } finally {
    await connection.close();
  }
});

interface RawPayload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

/** Every payload anywhere in a history (inputs, results, heartbeat details, update arguments …). */
function collectPayloads(value: unknown, out: RawPayload[] = []): RawPayload[] {
  if (!value || typeof value !== 'object') return out;
  if (value instanceof Uint8Array) return out;
  if (Array.isArray(value)) {
    for (const item of value) collectPayloads(item, out);
    return out;
  }
  const record = value as Record<string, unknown>;
  if ('metadata' in record && 'data' in record && record.data instanceof Uint8Array) {
    out.push(record as RawPayload);
    return out;
  }
  for (const child of Object.values(record)) collectPayloads(child, out);
  return out;
}

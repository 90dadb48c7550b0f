import WebSocket from 'ws';
import { CREDENTIAL_RECHECK_MS } from '../../api/realtime/credential-watch';
import { startTestApp, type TestApp } from '../support/app';
import { jobBody, putJob } from '../support/deployment-rows';
import { until } from '../support/eventually';
import { scene, type Scene } from '../support/promotion-scene';

/**
 * A live stream ends when the credential that opened it ends: an agent revoked
 * or deleted while its task stream (or a job stream) is open, a token reaching
 * its exp. Before, the socket kept delivering to a credential the API refused
 * on every other request.
 */
let app: TestApp;
let s: Scene;

beforeAll(async () => {
  app = await startTestApp({ worker: false });
  s = await scene(app);
});
afterAll(() => app?.close());

interface Stream {
  messages: any[];
  closed?: { code: number; reason: string; at: number };
  waitClosed(timeoutMs?: number): Promise<{ code: number; reason: string; at: number }>;
  close(): void;
}

function connect(path: string, token: string): Promise<Stream> {
  const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  const stream: Stream = {
    messages: [],
    waitClosed: (timeoutMs = CREDENTIAL_RECHECK_MS + 5_000) => until('the stream to close', () => stream.closed, timeoutMs, 20),
    close: () => ws.close(),
  };
  ws.on('message', (data) => stream.messages.push(JSON.parse(String(data))));
  ws.on('close', (code, reason) => (stream.closed = { code, reason: String(reason), at: Date.now() }));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(stream));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

let made = 0;
async function registeredAgent() {
  made += 1;
  const env = await s.expect(201, 'POST', '/environments', s.admin, { name: `env-${made}`, order: made });
  const registration = await s.expect(201, 'POST', '/agents/register', s.admin, { name: `agent-${made}`, environmentId: env.id });
  return { id: registration.agent.id as string, name: registration.agent.name as string, credential: registration.credential as string };
}

const snapshot = (stream: Stream) => until('the snapshot', () => stream.messages.find((m) => m.type === 'snapshot'), 10_000, 20);

test('revoking an agent closes its task stream and its work channel with 1008 AGENT_REVOKED; a person’s stream of a job stays open', async () => {
  const agent = await registeredAgent();
  const job = await putJob(app.pool, s.tenant, jobBody(s.tenant));
  const viewer = await s.token('viewer@example.com', { roles: ['viewer'] });
  const own = await connect(`/agents/${agent.id}/task-stream`, agent.credential);
  const work = await connect(`/agents/${agent.id}/work`, agent.credential);
  const watching = await connect(`/deployment-jobs/${job.id}/stream`, viewer);
  await Promise.all([snapshot(own), until('the work channel to be ready', () => work.messages.find((m) => m.type === 'ready'), 10_000, 20), snapshot(watching)]);
  // An agent watches no job, its own tenant's included.
  await expect(connect(`/deployment-jobs/${job.id}/stream`, agent.credential)).rejects.toThrow('upgrade refused: 403');

  await s.expect(200, 'PUT', `/agents/${agent.id}`, s.admin, { name: agent.name, labels: {}, revoked: true });
  for (const stream of [own, work]) {
    const closed = await stream.waitClosed();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^AGENT_REVOKED: Agent .* was revoked/);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
  }
  await until('the API to stop polling the agent’s queue', () => !app.deps.agentWork!.relaying(agent.id), 10_000, 50);
  expect(watching.closed).toBeUndefined();
  watching.close();
});

test('deleting an agent closes its task stream with 1008 AGENT_CREDENTIAL_INVALID', async () => {
  const agent = await registeredAgent();
  const own = await connect(`/agents/${agent.id}/task-stream`, agent.credential);
  await snapshot(own);
  expect((await s.call('DELETE', `/agents/${agent.id}`, s.admin)).status).toBe(204);
  const closed = await own.waitClosed();
  expect(closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/^AGENT_CREDENTIAL_INVALID: /) });
});

test('a stream opened with a token closes with 1008 TOKEN_EXPIRED at the token’s exp', async () => {
  const job = await putJob(app.pool, s.tenant, jobBody(s.tenant));
  const shortLived = await s.token('viewer@example.com', { roles: ['viewer'], ttlSeconds: 3 });
  const exp = JSON.parse(Buffer.from(shortLived.split('.')[1], 'base64url').toString()).exp * 1000;
  const stream = await connect(`/deployment-jobs/${job.id}/stream`, shortLived);
  await snapshot(stream);
  const closed = await stream.waitClosed();
  expect(closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/^TOKEN_EXPIRED: /) });
  // At exp, not a recheck interval (or the verifier's clock tolerance) later.
  expect(closed.at).toBeGreaterThanOrEqual(exp);
  expect(closed.at - exp).toBeLessThan(2_000);
});

import { startTestApp, type TestApp } from '../support/app';
import { appendLog, jobBody, putJob, putTask, taskBody } from '../support/deployment-rows';
import { until } from '../support/eventually';
import { connectStream } from '../support/live-stream';
import { scene, type Scene } from '../support/promotion-scene';

/**
 * Back-pressure on the deployment job stream (the same socket every live
 * stream uses): a client that stops reading is not buffered without bound; once
 * its unsent bytes stay past STREAM_MAX_BUFFERED for STREAM_STALL_TIMEOUT the
 * server closes it with 4008 and lets go of its subscription, and the client
 * that reconnects gets a full snapshot and the log from its start again.
 */
let app: TestApp;
let a: Scene;

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { STREAM_MAX_BUFFERED: String(64 * 1024), STREAM_STALL_TIMEOUT: '1s' } });
  a = await scene(app);
});
afterAll(() => app?.close());

const CHUNK = 'x'.repeat(64 * 1024 - 1) + '\n';
const CHUNKS = 256; // 16 MiB: more than loopback's kernel buffers on both ends hold

it('closes a job stream whose client stopped reading with 4008 and frees its subscription; a reconnecting client starts over from the snapshot', async () => {
  const viewer = await a.token('slow-viewer@example.com', { roles: ['viewer'] });
  const job = await putJob(app.pool, a.tenant, jobBody(a.tenant));
  const task = await putTask(app.pool, a.tenant, taskBody(job));
  for (let i = 0; i < CHUNKS; i++) await appendLog(app.pool, a.tenant, task.id, CHUNK);

  const before = app.deps.realtime!.subscriberCount;
  const slow = await connectStream(app.url, `/deployment-jobs/${job.id}/stream`, { token: viewer });
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  await until('the slow stream subscribed', () => app.deps.realtime!.subscriberCount > before || undefined, 10_000);
  await until('the server to drop the slow stream', () => app.deps.realtime!.subscriberCount === before || undefined, 60_000);
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await slow.waitClosed();
  expect(closed.code).toBe(4008);
  expect(closed.reason).toMatch(/^SLOW_CLIENT: more than 65536 bytes unsent for 1000 ms; reconnect/);
  const got = slow.messages.filter((m) => m.type === 'log').reduce((n, m) => n + m.data.length, 0);
  expect(got).toBeLessThan(CHUNKS * CHUNK.length);

  // Reconnecting starts over: a snapshot, then the log from its first byte. (Reading all 16 MiB is not asked:
  // on a loaded machine a reading client in this same process can fall a second behind and be dropped too.)
  const again = await connectStream(app.url, `/deployment-jobs/${job.id}/stream`, { token: viewer });
  const snapshot = await again.next((m) => m.type === 'snapshot', 'the snapshot');
  expect(snapshot.tasks.map((t: { id: string; log: { size: number } }) => [t.id, t.log.size])).toEqual([[task.id, CHUNKS * CHUNK.length]]);
  expect(await again.next((m) => m.type === 'log', 'the log from its start')).toMatchObject({ taskId: task.id, offset: 0, data: expect.stringMatching(/^x+\n/) });
  again.close();
});

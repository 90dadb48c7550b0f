import { AgentApiError } from '../../agent/runtime/api-client';
import { LogShipper } from '../../agent/hooks/log-shipper';

/**
 * The agent's log shipper against an in-memory API that behaves as the real one: every character it receives counts
 * toward the offsets, and past the cap it keeps the head and a rolling tail. A hook that writes far more than the cap
 * must neither lose its last lines (the outcome) nor make the agent hold, or send, everything it wrote.
 */
function api(capBytes: number) {
  const state = { received: 0, sentChars: 0, down: false, head: '', tail: '', markers: 0 };
  return {
    state,
    kept: () => `${state.head}${state.tail}`,
    appendLog: async (_taskId: string, body: { offset: number; data: string }) => {
      if (state.down) throw new AgentApiError(503, 'UNAVAILABLE', 'down');
      if (body.offset > state.received) throw new AgentApiError(409, 'LOG_OFFSET_GAP', 'gap', { size: state.received });
      const fresh = body.data.slice(state.received - body.offset);
      state.sentChars += body.data.length;
      state.markers += (fresh.match(/characters of output dropped by the agent/g) ?? []).length;
      state.received += fresh.length;
      const half = capBytes / 2;
      if (state.head.length < half) {
        const room = half - state.head.length;
        state.head += fresh.slice(0, room);
        state.tail = (state.tail + fresh.slice(room)).slice(-half);
      } else state.tail = (state.tail + fresh).slice(-half);
      return { size: state.received, capped: state.received > capBytes, capBytes };
    },
  };
}

const line = (i: number) => `output line ${String(i).padStart(7, '0')} of a very chatty hook\n`;

test('far past the cap, the API keeps the first lines and the very last one, and the agent sends only a bounded part', async () => {
  const cap = 4_096;
  const server = api(cap);
  const shipper = new LogShipper({ api: server, taskId: 't', capBytes: cap, intervalMs: 10_000 });
  await shipper.start();
  let written = 0;
  for (let i = 0; i < 60_000; i++) {
    const text = line(i);
    shipper.write(text);
    written += text.length;
    if (i % 5_000 === 0) await shipper.flush();
  }
  shipper.line('[tollgate] succeeded');
  const closed = await shipper.close();
  expect(closed.capped).toBe(true);
  expect(server.kept()).toContain(line(0));
  expect(server.kept()).toMatch(/\[tollgate\] succeeded\n$/);
  expect(server.kept()).toContain(line(59_999));
  // Of ~2.5 MB written, a few chunks' worth went over the wire.
  expect(written).toBeGreaterThan(2_000_000);
  expect(server.state.sentChars).toBeLessThan(1_000_000);
});

test('while the API is away the agent holds a bounded backlog, says what it dropped, and the end still arrives', async () => {
  const cap = 8_192;
  const server = api(cap);
  const shipper = new LogShipper({ api: server, taskId: 't', capBytes: cap, intervalMs: 10_000, finalRetryMs: 2_000 });
  await shipper.start();
  server.state.down = true;
  for (let i = 0; i < 40_000; i++) shipper.write(line(i));
  await shipper.flush();
  server.state.down = false;
  shipper.line('[tollgate] failed: HOOK_FAILED');
  await shipper.close();
  // What it let go is said in the log it sent (the API's own tail may have rolled that line out since).
  expect(server.state.markers).toBeGreaterThan(0);
  expect(server.kept()).toContain(line(0));
  expect(server.kept()).toMatch(/\[tollgate\] failed: HOOK_FAILED\n$/);
  expect(server.state.sentChars).toBeLessThan(cap + 3 * 64 * 1024);
});

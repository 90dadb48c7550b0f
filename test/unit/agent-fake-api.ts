import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The API side of the agent contract, small and in memory, for the agent's unit tests: it records every request
 * the agent makes and answers the way the contract says (claims once per attempt, logs by offset with a cap,
 * artifacts with size and sha256, registration and heartbeats). Faults can be queued per route.
 */

export interface Recorded {
  method: string;
  path: string;
  auth: string | null;
  contentType: string | null;
  body: any;
  raw: Buffer;
  at: number;
}

export interface FakeLog {
  /** What the API keeps: all of it, or past the cap its head and tail. */
  text: string;
  /** Every character it received, in order: what the offsets count. */
  received: string;
  stoppedBy: string | null;
  capped: boolean;
}

export interface FakeAgent {
  id: string;
  name: string;
  environmentId: string;
  labels: Record<string, string>;
  credential: string;
  targetIds: string[];
}

type Fault = number | 'drop';

export class FakeAgentApi {
  readonly requests: Recorded[] = [];
  readonly logs = new Map<string, FakeLog>();
  readonly artifacts = new Map<string, Array<{ name: string; bytes: Buffer; sha256: string }>>();
  readonly claims = new Map<string, { taskId: string; agentId: string; body: any }>();
  readonly agents = new Map<string, FakeAgent>();
  readonly heartbeats: Array<{ agentId: string; body: any }> = [];
  readonly health = new Map<string, { status: number; body: unknown }>();
  /** Per agent: targets another agent took, told once in its next heartbeat answer (lostTargets). */
  readonly losses = new Map<string, Array<Record<string, unknown>>>();
  targets: Array<Record<string, unknown>> = [];
  registrationToken = 'tgr_registration';
  /** Work channels agents opened (WS /agents/{id}/work), with the credential each showed. */
  readonly channels: Array<{ agentId: string; auth: string | null; socket: WebSocket }> = [];
  capBytes = 1024 * 1024;
  /** Answers to give before behaving normally, per route kind (claim, logs, artifact, heartbeat, register, targets). */
  readonly faults = new Map<string, Fault[]>();
  /** The next chunk that carries data is answered as stored, but is not: the agent's next offset runs ahead. */
  loseNextLogChunk = false;
  /** How many LOG_OFFSET_GAP answers were given. */
  logGaps = 0;
  /** The data-carrying chunks received per task, in order. */
  readonly chunks: Array<{ taskId: string; offset: number; data: string; stoppedBy?: string; at: number }> = [];
  private server!: Server;
  private sockets?: WebSocketServer;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req).then(({ status, body, headers }) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...(headers ?? {}) });
      res.end(body === undefined ? '' : JSON.stringify(body));
    }, (error) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ success: false, error: { code: 'INTERNAL', message: String(error) } }));
    }));
    // The work channel: accepted for an agent's own credential, answered with `ready`; refused (401) otherwise.
    this.sockets = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const match = /^\/api\/v1\/agents\/([^/]+)\/work$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      const agent = match ? this.agents.get(match[1]) : undefined;
      if (!agent || req.headers.authorization !== `Bearer ${agent.credential}`) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      this.sockets!.handleUpgrade(req, socket, head, (ws) => {
        this.channels.push({ agentId: agent.id, auth: req.headers.authorization ?? null, socket: ws });
        ws.send(JSON.stringify({ type: 'ready', agentId: agent.id }));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets?.clients ?? []) ws.terminate();
    this.sockets?.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  fault(kind: string, ...answers: Fault[]) {
    this.faults.set(kind, [...(this.faults.get(kind) ?? []), ...answers]);
  }

  addAgent(agent: Partial<FakeAgent> = {}): FakeAgent {
    const id = agent.id ?? randomUUID();
    const full: FakeAgent = { id, name: agent.name ?? `agent-${id.slice(0, 4)}`, environmentId: agent.environmentId ?? 'env-1', labels: agent.labels ?? {}, credential: agent.credential ?? `tga_${randomUUID()}`, targetIds: agent.targetIds ?? [] };
    this.agents.set(id, full);
    return full;
  }

  logText(taskId: string): string {
    return this.logs.get(taskId)?.text ?? '';
  }

  of(kind: string): Recorded[] {
    return this.requests.filter((r) => routeKind(r.method, r.path) === kind);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body?: unknown; headers?: Record<string, string> }> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const contentType = req.headers['content-type'] ?? null;
    let body: any;
    if (contentType?.includes('json') && raw.length) body = JSON.parse(raw.toString('utf8'));
    const recorded: Recorded = { method: req.method ?? 'GET', path: url.pathname + url.search, auth: req.headers.authorization ?? null, contentType, body, raw, at: Date.now() };
    this.requests.push(recorded);
    const kind = routeKind(recorded.method, url.pathname);
    const queued = this.faults.get(kind);
    if (queued?.length) {
      const fault = queued.shift()!;
      if (fault === 'drop') {
        req.socket.destroy();
        return new Promise(() => undefined);
      }
      return fail(fault, fault === 429 ? 'RATE_LIMITED' : 'UNAVAILABLE', 'injected fault', undefined, fault === 429 ? { 'Retry-After': '0' } : undefined);
    }
    const parts = url.pathname.split('/').filter(Boolean);
    if (kind === 'health') {
      const answer = this.health.get(parts[1]) ?? { status: 404, body: { error: 'no such target' } };
      return { status: answer.status, body: answer.body };
    }
    if (kind === 'register') {
      if (recorded.auth !== `Bearer ${this.registrationToken}`) return fail(401, 'UNAUTHORIZED', 'bad registration token');
      if ([...this.agents.values()].some((a) => a.name === body.name)) return fail(409, 'ALREADY_EXISTS', `an agent named ${body.name} exists`);
      const agent = this.addAgent({ name: body.name, environmentId: body.environmentId, labels: body.labels ?? {} });
      for (const target of this.targets) {
        if ((body.targets ?? []).includes(target.name)) {
          target.agentId = agent.id;
          agent.targetIds.push(target.id as string);
        }
      }
      return { status: 201, body: { success: true, data: { agent: this.present(agent), credential: agent.credential, taskQueue: `agent-${agent.id}`, workChannel: `/api/v1/agents/${agent.id}/work`, heartbeatIntervalSeconds: 1 } } };
    }
    if (kind === 'targets') {
      if (!this.caller(recorded.auth)) return fail(401, 'UNAUTHORIZED', 'bad credential');
      const page = Number(url.searchParams.get('page') ?? '1');
      const size = Number(url.searchParams.get('pageSize') ?? '20');
      const items = this.targets.slice((page - 1) * size, page * size);
      return { status: 200, body: { success: true, data: items, meta: { pagination: { page, pageSize: size, totalItems: this.targets.length, hasNext: page * size < this.targets.length } } } };
    }
    const agent = this.caller(recorded.auth);
    if (!agent || parts[3] !== agent.id) return fail(401, 'UNAUTHORIZED', 'the credential is not valid');
    if (kind === 'heartbeat') {
      this.heartbeats.push({ agentId: agent.id, body });
      const lostTargets = this.losses.get(agent.id) ?? [];
      this.losses.delete(agent.id);
      return { status: 200, body: { success: true, data: { agent: this.present(agent), serverTime: new Date().toISOString(), offlineAfterSeconds: 30, lostTargets } } };
    }
    const taskId = parts[5];
    if (kind === 'claim') {
      const key = `${body.jobId}|${body.targetId}|${body.phase}|${body.attempt}`;
      if (this.claims.has(key)) return fail(409, 'ALREADY_CLAIMED', 'this attempt was claimed before');
      this.claims.set(key, { taskId, agentId: agent.id, body });
      return { status: 200, body: { success: true, data: { claimed: true } } };
    }
    if (kind === 'logs') {
      const log = this.logs.get(taskId) ?? { text: '', received: '', stoppedBy: null, capped: false };
      this.logs.set(taskId, log);
      const size = log.received.length;
      if (body.offset > size) this.logGaps += 1;
      if (body.offset > size) return fail(409, 'LOG_OFFSET_GAP', `offset ${body.offset} is past the log's size ${size}`, { size });
      if (body.data) this.chunks.push({ taskId, offset: body.offset, data: body.data, stoppedBy: body.stoppedBy, at: Date.now() });
      if (body.stoppedBy) log.stoppedBy = body.stoppedBy;
      const fresh: string = body.data.slice(size - body.offset);
      if (fresh && this.loseNextLogChunk) {
        this.loseNextLogChunk = false;
        return { status: 200, body: { success: true, data: { size: body.offset + body.data.length, capped: false, capBytes: this.capBytes } } };
      }
      // As the API does: every character received counts; past the cap it keeps the head and a rolling tail.
      if (fresh) {
        log.received += fresh;
        log.capped = Buffer.byteLength(log.received) > this.capBytes;
        const half = Math.floor(this.capBytes / 2);
        log.text = log.capped ? `${log.received.slice(0, half)}\n[dropped]\n${log.received.slice(-half)}` : log.received;
      }
      return { status: 200, body: { success: true, data: { size: log.received.length, capped: log.capped, capBytes: this.capBytes } } };
    }
    if (kind === 'artifact') {
      const name = decodeURIComponent(parts[7]);
      const sha256 = createHash('sha256').update(raw).digest('hex');
      const list = this.artifacts.get(taskId) ?? [];
      list.push({ name, bytes: raw, sha256 });
      this.artifacts.set(taskId, list);
      return { status: 201, body: { success: true, data: { id: randomUUID(), name, size: raw.length, sha256, createdAt: new Date().toISOString() } } };
    }
    return fail(404, 'NOT_FOUND', `no route ${recorded.method} ${url.pathname}`);
  }

  private caller(auth: string | null): FakeAgent | undefined {
    return [...this.agents.values()].find((a) => auth === `Bearer ${a.credential}`);
  }

  private present(agent: FakeAgent) {
    return { id: agent.id, name: agent.name, environmentId: agent.environmentId, labels: agent.labels, version: null, capabilities: [], status: 'online', lastHeartbeatAt: null, registeredAt: new Date().toISOString(), targetIds: agent.targetIds, taskQueue: `agent-${agent.id}` };
  }
}

export function routeKind(method: string, pathname: string): string {
  const p = pathname.split('?')[0];
  if (p.startsWith('/health/')) return 'health';
  if (p === '/api/v1/agents/register') return 'register';
  if (p === '/api/v1/targets') return 'targets';
  if (/^\/api\/v1\/agents\/[^/]+\/heartbeat$/.test(p)) return 'heartbeat';
  if (/\/tasks\/[^/]+\/claim$/.test(p)) return 'claim';
  if (/\/tasks\/[^/]+\/logs$/.test(p)) return 'logs';
  if (method === 'PUT' && /\/tasks\/[^/]+\/artifacts\/[^/]+$/.test(p)) return 'artifact';
  return 'other';
}

function fail(status: number, code: string, message: string, details?: Record<string, unknown>, headers?: Record<string, string>) {
  return { status, body: { success: false, error: { code, message, ...(details ? { details } : {}) } }, headers };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

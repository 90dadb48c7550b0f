import type { AgentRouter } from '../../domain/traffic';
import type { DeliveryResult } from '../../domain/deployments/deliveries';
import type { HealthCheck } from '../../domain/deployments/model';

/**
 * The agent's side of the agent ↔ API contract: registration, heartbeats, task
 * claims, log chunks and artifact uploads, over the Stella dialect (`/api/v1`).
 * Every call after registration carries the agent's own credential.
 */

export class AgentApiError extends Error {
  constructor(
    /** 0: the API could not be reached (or the request timed out). */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined = undefined,
    /** From Retry-After, when the API sent one. */
    readonly retryAfterMs: number | undefined = undefined,
  ) {
    super(message);
    this.name = 'AgentApiError';
  }

  /** Worth trying again: the API was unreachable, overloaded or briefly failing. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export interface RegisterRequest {
  name: string;
  environmentId: string;
  labels?: Record<string, string>;
  version?: string;
  capabilities?: string[];
  targets?: string[];
  takeOver?: boolean;
  router?: AgentRouter | null;
}

export interface AgentRecord {
  id: string;
  name: string;
  environmentId: string;
  labels: Record<string, string>;
  version: string | null;
  capabilities: string[];
  status: string;
  lastHeartbeatAt: string | null;
  registeredAt: string;
  targetIds: string[];
  taskQueue: string;
}

export interface Registration {
  agent: AgentRecord;
  credential: string;
  taskQueue: string;
  workChannel: string;
  heartbeatIntervalSeconds: number;
}

export interface TargetReport {
  targetId: string;
  releaseId: string | null;
  version: string | null;
  healthy: boolean | null;
}

export interface HeartbeatRequest {
  version: string;
  capabilities: string[];
  targets: TargetReport[];
  router?: AgentRouter | null;
}

/** A target another agent's registration took from this one (told once, in a heartbeat answer). */
export interface LostTarget {
  targetId: string;
  targetName: string;
  takenByAgentId: string;
  takenByAgentName: string;
  takenAt: string;
}

export interface HeartbeatAnswer {
  agent: AgentRecord;
  serverTime: string;
  offlineAfterSeconds: number;
  /** Absent from an API older than the take-over rule. */
  lostTargets?: LostTarget[];
}

/** A target as GET /targets serves it; properties and healthCheck arrive with the deployments issue. */
export interface ApiTarget {
  id: string;
  name: string;
  environmentId: string;
  agentId: string | null;
  labels: Record<string, string>;
  properties?: Record<string, string>;
  healthCheck?: HealthCheck | null;
}

export interface ClaimRequest {
  jobId: string;
  targetId: string;
  phase: string;
  attempt: number;
}

export interface LogAppendRequest {
  offset: number;
  data: string;
  stoppedBy?: 'SIGTERM' | 'SIGKILL';
}

export interface LogAppendAnswer {
  size: number;
  capped: boolean;
  capBytes: number;
}

export interface StoredArtifact {
  id: string;
  name: string;
  size: number;
  sha256: string;
}

export interface Identity {
  id: string;
  credential: string;
}

export interface AgentApiOptions {
  baseUrl: string;
  /** The current identity; read on every call, so a re-registration is picked up by calls already under way. */
  identity: () => Identity | undefined;
  /** Each request's own limit (default 15 s); a caller's signal can end it sooner. */
  requestTimeoutMs?: number;
}

const USER_AGENT = 'tollgate-agent';

export class AgentApiClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: AgentApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.requestTimeoutMs ?? 15_000;
  }

  async register(token: string, body: RegisterRequest): Promise<Registration> {
    return this.request<Registration>('POST', '/api/v1/agents/register', { bearer: token, json: body });
  }

  async heartbeat(body: HeartbeatRequest, signal?: AbortSignal): Promise<HeartbeatAnswer> {
    const me = this.me();
    return this.request<HeartbeatAnswer>('POST', `/api/v1/agents/${enc(me.id)}/heartbeat`, { bearer: me.credential, json: body, signal });
  }

  /** Every target of the tenant the credential can read, page by page (the API caps a page at 100). */
  async listTargets(signal?: AbortSignal): Promise<ApiTarget[]> {
    const me = this.me();
    const all: ApiTarget[] = [];
    for (let page = 1; page <= 100; page++) {
      const { data, meta } = await this.requestRaw('GET', `/api/v1/targets?pageSize=100&page=${page}`, { bearer: me.credential, signal });
      all.push(...((data as ApiTarget[]) ?? []));
      if (!(meta as { pagination?: { hasNext?: boolean } })?.pagination?.hasNext) break;
    }
    return all;
  }

  async claim(taskId: string, body: ClaimRequest, signal?: AbortSignal): Promise<{ claimed: boolean }> {
    const me = this.me();
    return this.request('POST', `/api/v1/agents/${enc(me.id)}/tasks/${enc(taskId)}/claim`, { bearer: me.credential, json: body, signal });
  }

  async appendLog(taskId: string, body: LogAppendRequest, signal?: AbortSignal): Promise<LogAppendAnswer> {
    const me = this.me();
    return this.request('POST', `/api/v1/agents/${enc(me.id)}/tasks/${enc(taskId)}/logs`, { bearer: me.credential, json: body, signal });
  }

  async uploadArtifact(taskId: string, name: string, bytes: Buffer, signal?: AbortSignal): Promise<StoredArtifact> {
    const me = this.me();
    return this.request('PUT', `/api/v1/agents/${enc(me.id)}/tasks/${enc(taskId)}/artifacts/${enc(name)}`, { bearer: me.credential, bytes, signal });
  }

  /** Output lines of a script step handed over as `deliveryId`; lines already stored are skipped. */
  async appendScriptLines(deliveryId: string, body: { from: number; lines: Array<{ stream: 'stdout' | 'stderr'; text: string }> }, signal?: AbortSignal): Promise<{ stored: number; capped: boolean }> {
    const me = this.me();
    return this.request('POST', `/api/v1/agents/${enc(me.id)}/deliveries/${enc(deliveryId)}/script-lines`, { bearer: me.credential, json: body, signal });
  }

  /** A file a script step listed as an artifact (replacing one of the same name for the same step). */
  async uploadScriptArtifact(deliveryId: string, name: string, bytes: Buffer, signal?: AbortSignal): Promise<StoredArtifact> {
    const me = this.me();
    return this.request('PUT', `/api/v1/agents/${enc(me.id)}/deliveries/${enc(deliveryId)}/artifacts/${enc(name)}`, { bearer: me.credential, bytes, signal });
  }

  /** A task handed over the work channel: still wanted? (cancelRequested: stop it). 404/410: it is gone. */
  async heartbeatDelivery(deliveryId: string, details: unknown, signal?: AbortSignal): Promise<{ cancelRequested: boolean }> {
    const me = this.me();
    return this.request('POST', `/api/v1/agents/${enc(me.id)}/deliveries/${enc(deliveryId)}/heartbeat`, {
      bearer: me.credential,
      json: details === undefined ? {} : { details },
      signal,
    });
  }

  async completeDelivery(deliveryId: string, body: DeliveryResult, signal?: AbortSignal): Promise<{ outcome: string; alreadyRecorded: boolean }> {
    const me = this.me();
    return this.request('POST', `/api/v1/agents/${enc(me.id)}/deliveries/${enc(deliveryId)}/result`, { bearer: me.credential, json: body, signal });
  }

  /** The WebSocket URL and credential of this agent's work channel. */
  workChannel(): { url: string; credential: string } {
    const me = this.me();
    return { url: `${this.baseUrl.replace(/^http/i, 'ws')}/api/v1/agents/${enc(me.id)}/work`, credential: me.credential };
  }

  private me(): Identity {
    const identity = this.options.identity();
    if (!identity) throw new AgentApiError(401, 'NOT_REGISTERED', 'the agent has no credential yet (it has not registered)');
    return identity;
  }

  private async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    return (await this.requestRaw(method, path, options)).data as T;
  }

  private async requestRaw(method: string, path: string, options: RequestOptions): Promise<{ data: unknown; meta: unknown }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${options.bearer}`, 'User-Agent': USER_AGENT, Accept: 'application/json' };
    let body: string | Buffer | undefined;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.bytes) {
      headers['Content-Type'] = 'application/octet-stream';
      body = options.bytes;
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, signal });
      text = await response.text();
    } catch (error) {
      // The caller's own abort (a cancelled task) is not an API failure: let it through as it is.
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const reason = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : describeNetworkError(error);
      throw new AgentApiError(0, 'API_UNREACHABLE', `cannot reach the Tollgate API at ${this.baseUrl}: ${reason}`);
    }
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = parsed?.error ?? {};
      throw new AgentApiError(
        response.status,
        typeof error.code === 'string' ? error.code : `HTTP_${response.status}`,
        typeof error.message === 'string' ? error.message : `${method} ${path} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
        error.details && typeof error.details === 'object' ? error.details : undefined,
        retryAfter(response.headers.get('retry-after'), error.details),
      );
    }
    if (!parsed || typeof parsed !== 'object') {
      throw new AgentApiError(response.status, 'BAD_RESPONSE', `${method} ${path} answered ${response.status} without a JSON body`);
    }
    return { data: 'data' in parsed ? parsed.data : parsed, meta: parsed.meta };
  }
}

interface RequestOptions {
  bearer: string;
  json?: unknown;
  bytes?: Buffer;
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

function retryAfter(header: string | null, details: unknown): number | undefined {
  const fromDetails = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  const seconds = header !== null && /^\d+(\.\d+)?$/.test(header.trim()) ? Number(header) : typeof fromDetails === 'number' ? fromDetails : undefined;
  return seconds === undefined ? undefined : Math.round(seconds * 1000);
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

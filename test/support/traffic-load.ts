import { Agent, request } from 'node:http';

/**
 * A bounded load loop through the router: N requests, a few at a time, each
 * answer counted by the version its body names (the demo service says which
 * version it runs on every answer, failing or not) and by status. Measured
 * splits are compared with the weight asked for within a binomial tolerance
 * wide enough never to flake (5 standard deviations by default).
 */

export interface LoadOptions {
  /** Requests to send (default 1000). */
  requests?: number;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  path?: string;
  headers?: Record<string, string>;
  /** Per request (default 5 s). */
  timeoutMs?: number;
}

export interface LoadResult {
  requests: number;
  /** Answers by the version their body names; `?` when the body named none (the router's own error page). */
  byVersion: Record<string, number>;
  /** Answers by HTTP status; 0 for a request that got no answer (refused, reset, timed out). */
  byStatus: Record<number, number>;
  /** Requests that got no answer at all. */
  failed: number;
  /** The first few transport errors, to say why. */
  errors: string[];
  ms: number;
}

/** A keep-alive agent per router address: connections are reused across bursts, as a real client would. */
const agents = new Map<string, Agent>();
function agentFor(base: string): Agent {
  let agent = agents.get(base);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 64 });
    agents.set(base, agent);
  }
  return agent;
}

/** Closes the keep-alive connections (a test's afterAll, a bench's teardown). */
export function closeLoadConnections(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

interface Answer {
  status: number;
  version: string;
  error?: string;
}

function once(base: string, options: LoadOptions): Promise<Answer> {
  const url = new URL(options.path ?? '/', base);
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'GET', agent: agentFor(base), headers: { accept: 'application/json', ...options.headers }, timeout: options.timeoutMs ?? 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, version: versionOf(body) }));
        res.on('error', (err) => resolve({ status: 0, version: '?', error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5_000} ms`)));
    req.on('error', (err) => resolve({ status: 0, version: '?', error: err.message }));
    req.end();
  });
}

function versionOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : '?';
  } catch {
    return '?';
  }
}

/** Sends `requests` GETs to `base` (the router's listen address as a URL) and counts the answers. */
export async function sendLoad(base: string, options: LoadOptions = {}): Promise<LoadResult> {
  const total = options.requests ?? 1000;
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 16, total));
  const result: LoadResult = { requests: total, byVersion: {}, byStatus: {}, failed: 0, errors: [], ms: 0 };
  const started = Date.now();
  let next = 0;
  const lane = async () => {
    while (next < total) {
      next++;
      const answer = await once(base, options);
      result.byStatus[answer.status] = (result.byStatus[answer.status] ?? 0) + 1;
      if (answer.status === 0) {
        result.failed++;
        if (answer.error && result.errors.length < 5) result.errors.push(answer.error);
      } else {
        result.byVersion[answer.version] = (result.byVersion[answer.version] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  result.ms = Date.now() - started;
  return result;
}

/** The share (0-1) of answered requests that `version` served. */
export function shareOf(result: LoadResult, version: string): number {
  const answered = result.requests - result.failed;
  return answered === 0 ? 0 : (result.byVersion[version] ?? 0) / answered;
}

/**
 * How far a measured share may be from `percent` over `n` requests: `sigmas`
 * binomial standard deviations, as a share. 0 at 0 % and 100 %: there every
 * request must go one way.
 */
export function splitTolerance(percent: number, n: number, sigmas = 5): number {
  const p = percent / 100;
  return n === 0 ? 1 : (sigmas * Math.sqrt(p * (1 - p))) / Math.sqrt(n);
}

export interface SplitCheck {
  ok: boolean;
  /** Measured canary percent. */
  measured: number;
  expected: number;
  /** Allowed distance, in percent. */
  tolerance: number;
  summary: string;
}

/** Whether the canary's share of `result` is `percent` within the tolerance (every request answered, none by the router itself). */
export function checkSplit(result: LoadResult, canaryVersion: string, percent: number, sigmas = 5): SplitCheck {
  const answered = result.requests - result.failed;
  const measured = shareOf(result, canaryVersion) * 100;
  const tolerance = splitTolerance(percent, answered, sigmas) * 100;
  const unknown = result.byVersion['?'] ?? 0;
  const ok = result.failed === 0 && unknown === 0 && Math.abs(measured - percent) <= tolerance;
  const summary = `canary ${measured.toFixed(1)} % (expected ${percent} ± ${tolerance.toFixed(1)}) over ${answered} answers; by version ${JSON.stringify(result.byVersion)}, by status ${JSON.stringify(result.byStatus)}${result.errors.length ? `, errors ${result.errors.join('; ')}` : ''}`;
  return { ok, measured, expected: percent, tolerance, summary };
}

/** Throws (with what was measured) unless the split matches; for `eventually` loops and benches alike. */
export function assertSplit(result: LoadResult, canaryVersion: string, percent: number, sigmas = 5): SplitCheck {
  const check = checkSplit(result, canaryVersion, percent, sigmas);
  if (!check.ok) throw new Error(`split off: ${check.summary}`);
  return check;
}

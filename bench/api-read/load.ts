import http from 'node:http';

/** One kind of request to drive: a path on a server and the headers of the i-th request (users take turns). */
export interface Target {
  url: string;
  path(i: number): string;
  headers(i: number): http.OutgoingHttpHeaders;
  expectStatus: number;
}

export interface FixedRateResult {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  /** Per request: completion minus the time it was *due*, so a stalled server cannot hide its queue (no coordinated omission). */
  latenciesMs: number[];
  /** Per request, in the order of `latenciesMs`: when it was due, from the first one. */
  dueOffsetsMs: number[];
  firstFailure?: string;
}

export interface SaturationResult {
  seconds: number;
  /** Answered with the expected status; `failed` counts every other answer and error. */
  completed: number;
  failed: number;
  perSecond: number;
  firstFailure?: string;
}

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A keep-alive HTTP/1.1 client on node:http, cheaper per request than fetch so
 * the load generator takes as little as possible of the two cores it shares
 * with the server under test. Bodies are read to the end and discarded.
 */
export class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string) {
    const u = new URL(baseUrl);
    if (u.hostname !== '127.0.0.1') throw new Error(`the bench only sends traffic to 127.0.0.1, not ${u.hostname}`);
    this.host = u.hostname;
    this.port = Number(u.port);
  }

  /** Resolves to the status, or a failure text; never rejects. */
  send(path: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; error?: string }> {
    return new Promise((resolve) => {
      const req = http.request({ host: this.host, port: this.port, path, method: 'GET', headers, agent: this.agent }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', (err) => resolve({ status: 0, error: err.message }));
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (err) => resolve({ status: 0, error: err.message }));
      req.end();
    });
  }

  /** One request with its body, for checking what a phase is about to measure. */
  async getJson(path: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, path, method: 'GET', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text });
          }
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to earlier
 * ones, as real independent users arrive. Bounded: rate × seconds requests,
 * then at most REQUEST_TIMEOUT_MS for the stragglers.
 */
export async function fixedRate(client: Client, target: Target, rate: number, seconds: number): Promise<FixedRateResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const latenciesMs: number[] = [];
  const dueOffsetsMs: number[] = [];
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const inFlight: Promise<void>[] = [];
  const start = performance.now() + 5;
  let sent = 0;

  const fire = (i: number, due: number) =>
    client.send(target.path(i), target.headers(i)).then(({ status, error }) => {
      if (status === target.expectStatus) {
        ok++;
        latenciesMs.push(performance.now() - due);
        dueOffsetsMs.push(due - start);
      } else {
        failed++;
        firstFailure ??= error ?? `status ${status}`;
      }
    });

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * intervalMs <= now) {
        inFlight.push(fire(sent, start + sent * intervalMs));
        sent++;
      }
      if (sent >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.min(1, start + sent * intervalMs - performance.now())));
    };
    setTimeout(tick, 5);
  });
  await Promise.all(inFlight);
  return { rate, sent, ok, failed, latenciesMs, dueOffsetsMs, firstFailure };
}

/** Closed loop with `connections` requests always in flight for `seconds`: the most the server completes per second. */
export async function saturate(client: Client, target: Target, connections: number, seconds: number): Promise<SaturationResult> {
  let completed = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let i = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const lane = async () => {
    while (performance.now() < end) {
      const n = i++;
      const { status, error } = await client.send(target.path(n), target.headers(n));
      if (status === target.expectStatus) completed++;
      else {
        failed++;
        firstFailure ??= error ?? `status ${status}`;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  const elapsed = (performance.now() - t0) / 1000;
  return { seconds: elapsed, completed, failed, perSecond: completed / elapsed, firstFailure };
}

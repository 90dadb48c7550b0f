import { Client, fixedRate as openLoop } from '../api-read/load';
import { percentile } from '../change-lifecycle/stats';

export interface LatencySample {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  firstFailure?: string;
}

export interface Reader {
  path: string;
  tokens: string[];
}

/**
 * The read-path bench's open-loop load (bench/api-read): each reader's path at
 * a fixed rate for `seconds`, its users taking turns, latency counted from when
 * each request was due. Several readers take turns `rounds` times, so each is
 * measured under the same conditions (on a shared machine, what else runs
 * changes from minute to minute). A warm-up second per reader comes first.
 */
export async function interleaved(apiUrl: string, readers: Reader[], ratePerSecond: number, seconds: number, rounds: number): Promise<LatencySample[]> {
  const client = new Client(apiUrl);
  const target = (r: Reader) => ({ url: apiUrl, path: () => r.path, headers: (i: number) => ({ authorization: `Bearer ${r.tokens[i % r.tokens.length]}` }), expectStatus: 200 });
  for (const r of readers) await openLoop(client, target(r), ratePerSecond, 1);
  const pooled = readers.map(() => ({ latencies: [] as number[], sent: 0, failed: 0, firstFailure: undefined as string | undefined }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, r] of readers.entries()) {
      const result = await openLoop(client, target(r), ratePerSecond, seconds);
      const p = pooled[i];
      p.latencies.push(...result.latenciesMs);
      p.sent += result.sent;
      p.failed += result.failed;
      p.firstFailure ??= result.firstFailure;
    }
  }
  return pooled.map((p) => ({
    requests: p.sent,
    errors: p.failed,
    p50Ms: percentile(p.latencies, 50),
    p99Ms: percentile(p.latencies, 99),
    maxMs: p.latencies.length ? Math.max(...p.latencies) : NaN,
    firstFailure: p.firstFailure,
  }));
}

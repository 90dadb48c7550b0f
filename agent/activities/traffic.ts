import type { ProbeHttpInput, ProbeResult, ReadTrafficInput, RouterStats, RouterStatsInput, SetTrafficInput, TrafficState, Variant } from '../../domain/traffic';
import type { Logger } from '../../platform/logger';
import type { TaskContext } from '../runtime/work-channel';
import { noRouter, type TrafficProvider } from '../traffic/provider';

/**
 * The rollout's tasks on this agent (domain/traffic.ts): set and read the router's traffic, read its
 * counters, and probe the variants' endpoints. An agent started without --router fails the router's tasks with
 * NO_ROUTER, not retryable: no retry on this agent can succeed.
 */
export interface TrafficActivityDeps {
  router: TrafficProvider | undefined;
  log: Logger;
}

export function createTrafficActivities({ router, log }: TrafficActivityDeps) {
  const need = (activity: string): TrafficProvider => {
    if (!router) throw noRouter(activity);
    return router;
  };
  return {
    async setTraffic(input: SetTrafficInput, _ctx?: TaskContext): Promise<TrafficState> {
      const state = await need('setTraffic').apply(input.spec);
      log.info({ rolloutId: input.rolloutId, routeId: input.spec.routeId, canaryWeight: state.canaryWeight, match: state.match }, 'router: traffic set');
      return state;
    },
    async readTraffic(input: ReadTrafficInput, _ctx?: TaskContext): Promise<TrafficState> {
      return need('readTraffic').read(input.routeId);
    },
    async routerStats(input: RouterStatsInput, _ctx?: TaskContext): Promise<RouterStats> {
      return need('routerStats').stats(input.routeId);
    },
    async probeHttp(input: ProbeHttpInput, ctx?: TaskContext): Promise<ProbeResult[]> {
      return probeHttp(input, ctx?.cancellationSignal);
    },
  };
}

/** GET each URL `count` times in turn: a status of 500 or more, or no answer, is an error; latency over answers. */
export async function probeHttp(input: ProbeHttpInput, signal?: AbortSignal): Promise<ProbeResult[]> {
  const count = Math.max(0, Math.min(1_000, Math.floor(input.count)));
  const timeoutMs = Math.max(1, Math.min(60_000, input.timeoutMs));
  const byVariant = new Map<Variant, { requests: number; errors: number; times: number[] }>();
  for (const { variant, url } of input.urls) {
    const acc = byVariant.get(variant) ?? { requests: 0, errors: 0, times: [] };
    byVariant.set(variant, acc);
    for (let i = 0; i < count; i++) {
      signal?.throwIfAborted();
      const started = performance.now();
      acc.requests++;
      try {
        const response = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]), headers: { 'Cache-Control': 'no-store' } });
        await response.arrayBuffer();
        acc.times.push(performance.now() - started);
        if (response.status >= 500) acc.errors++;
      } catch (error) {
        if (signal?.aborted) throw error;
        acc.errors++;
      }
    }
  }
  return [...byVariant].map(([variant, acc]) => ({ variant, requests: acc.requests, errors: acc.errors, p50Ms: percentile(acc.times, 0.5), p99Ms: percentile(acc.times, 0.99) }));
}

/** Nearest-rank percentile (null over no samples). */
export function percentile(samples: number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return Math.round(sorted[rank - 1] * 1000) / 1000;
}

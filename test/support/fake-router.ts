import type { AgentTrafficActivities } from '../../domain/rollouts/ports';
import type { RouterCounters, TrafficMatch, TrafficState } from '../../domain/traffic';

/**
 * A traffic router kept in memory, served as the router agent's activities
 * (setTraffic/readTraffic/routerStats/probeHttp) by a real Temporal worker on
 * the agent's queue: the workflow under test is unchanged, only the far end of
 * its activities is a map. Each routerStats read serves 100 requests split by
 * the weight, the canary failing at `canaryErrorRate`.
 */
export interface FakeRoute {
  canaryWeight: number;
  match: TrafficMatch | null;
  sets: Array<{ canaryWeight: number; match: TrafficMatch | null; at: number }>;
  stable: RouterCounters;
  canary: RouterCounters;
  canaryErrorRate: number;
  /** How long routerStats takes to answer (a router that hangs). */
  statsDelayMs: number;
}

export function createFakeRouter() {
  const routes = new Map<string, FakeRoute>();
  const routeOf = (id: string): FakeRoute => {
    let r = routes.get(id);
    if (!r) {
      r = { canaryWeight: 0, match: null, sets: [], stable: { requests: 0, errors5xx: 0, meanResponseMs: 5 }, canary: { requests: 0, errors5xx: 0, meanResponseMs: 5 }, canaryErrorRate: 0, statsDelayMs: 0 };
      routes.set(id, r);
    }
    return r;
  };
  const stateOf = (routeId: string): TrafficState => {
    const r = routeOf(routeId);
    return {
      provider: 'haproxy',
      routeId,
      canaryWeight: r.canaryWeight,
      stableWeight: 100 - r.canaryWeight,
      match: r.match,
      servers: [
        { name: 's1', variant: 'stable', weight: 100 - r.canaryWeight, state: 'UP' },
        { name: 'c1', variant: 'canary', weight: r.canaryWeight, state: 'UP' },
      ],
      readAt: new Date().toISOString(),
    };
  };
  const activities: AgentTrafficActivities = {
    async setTraffic({ spec }) {
      const r = routeOf(spec.routeId);
      r.canaryWeight = spec.canaryWeight;
      r.match = spec.match;
      r.sets.push({ canaryWeight: spec.canaryWeight, match: spec.match, at: Date.now() });
      return stateOf(spec.routeId);
    },
    async readTraffic({ routeId }) {
      return stateOf(routeId);
    },
    async routerStats({ routeId }) {
      const r = routeOf(routeId);
      if (r.statsDelayMs) await new Promise((resolve) => setTimeout(resolve, r.statsDelayMs));
      const canary = r.canaryWeight;
      r.stable = { ...r.stable, requests: r.stable.requests + (100 - canary) };
      r.canary = { ...r.canary, requests: r.canary.requests + canary, errors5xx: r.canary.errors5xx + Math.round(canary * r.canaryErrorRate) };
      return { routeId, stable: r.stable, canary: r.canary, at: new Date().toISOString() };
    },
    async probeHttp({ urls }) {
      return urls.map((u) => ({ variant: u.variant, requests: 1, errors: 0, p50Ms: 1, p99Ms: 1 }));
    },
  };
  return { activities, routeOf };
}

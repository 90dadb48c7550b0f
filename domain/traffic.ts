/**
 * What a rollout asks of a traffic router and what the router answers: the
 * one contract between the rollout workflow (which decides weights), the
 * agent of the environment (which drives the router: agent/traffic/) and the
 * API (which shows what the router has). The agent's activities take and
 * return exactly these shapes over its work channel.
 *
 * A route is the environment's application behind the router: one router
 * (one agent's) serves one route at a time, named by the environment id.
 */

export const ROUTER_PROVIDERS = ['haproxy', 'nginx', 'webhook'] as const;
export type RouterProvider = (typeof ROUTER_PROVIDERS)[number];

/** The router an agent reports it drives (agents.router): `listen` is where clients reach the route. */
export interface AgentRouter {
  provider: RouterProvider;
  listen: string;
}

export type Variant = 'stable' | 'canary';

/** One server behind the router: one target of the environment (host and port from its properties). */
export interface RouterBackend {
  name: string;
  targetId: string;
  host: string;
  port: number;
}

/**
 * Requests that match go to the canary whatever its weight (A/B by header or
 * cookie, and a blue-green preview).
 */
export type TrafficMatch = { header: { name: string; value: string } } | { cookie: { name: string; value: string } };

/** The traffic a rollout wants now. `canaryWeight` is the percent (0-100) of unmatched requests sent to canary. */
export interface TrafficSpec {
  routeId: string;
  stable: RouterBackend[];
  canary: RouterBackend[];
  canaryWeight: number;
  match: TrafficMatch | null;
}

/** The traffic the router has, read back from the router itself (not what was asked). */
export interface TrafficState {
  provider: RouterProvider;
  routeId: string;
  canaryWeight: number;
  stableWeight: number;
  match: TrafficMatch | null;
  servers: Array<{ name: string; variant: Variant; weight: number; state: string }>;
  readAt: string;
}

/** Counters the router keeps per variant since it started (cumulative: a window is the difference of two). */
export interface RouterCounters {
  requests: number;
  errors5xx: number;
  /** Mean response time over the router's recent requests, when the router knows it. */
  meanResponseMs: number | null;
}

export interface RouterStats {
  routeId: string;
  stable: RouterCounters;
  canary: RouterCounters;
  at: string;
}

/** An HTTP probe's result per variant (the `http` metric provider). */
export interface ProbeResult {
  variant: Variant;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** The agent activities a rollout schedules on `agent-<id>` (inputs carry tenantId: the relay checks it). */
export interface SetTrafficInput {
  tenantId: string;
  rolloutId: string;
  spec: TrafficSpec;
}
export interface ReadTrafficInput {
  tenantId: string;
  rolloutId: string;
  routeId: string;
}
export type RouterStatsInput = ReadTrafficInput;
export interface ProbeHttpInput {
  tenantId: string;
  rolloutId: string;
  /** e.g. http://127.0.0.1:4001/health for each backend of each variant. */
  urls: Array<{ variant: Variant; url: string }>;
  /** Requests per URL. */
  count: number;
  timeoutMs: number;
}

export const TRAFFIC_ACTIVITIES = ['setTraffic', 'readTraffic', 'routerStats', 'probeHttp'] as const;
export type TrafficActivity = (typeof TRAFFIC_ACTIVITIES)[number];
export interface TrafficActivityInputs {
  setTraffic: SetTrafficInput;
  readTraffic: ReadTrafficInput;
  routerStats: RouterStatsInput;
  probeHttp: ProbeHttpInput;
}
export interface TrafficActivityResults {
  setTraffic: TrafficState;
  readTraffic: TrafficState;
  routerStats: RouterStats;
  probeHttp: ProbeResult[];
}

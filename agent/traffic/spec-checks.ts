import type { TrafficMatch, TrafficSpec } from '../../domain/traffic';

/** Characters HAProxy and nginx take in a config word without quoting: anything else in a rollout's spec is refused. */
const SAFE_VALUE = /^[A-Za-z0-9._~:/@+=-]{1,200}$/;
const SAFE_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const SAFE_HOST = /^[A-Za-z0-9.:_-]{1,253}$/;

/** Why a spec cannot be rendered, or null. */
export function specProblem(spec: TrafficSpec): string | null {
  for (const b of [...spec.stable, ...spec.canary]) {
    if (!SAFE_HOST.test(b.host)) return `backend ${b.name}: host "${b.host}" is not a host name or IP address`;
    if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) return `backend ${b.name}: port ${b.port} is not a port number`;
  }
  if (spec.stable.length + spec.canary.length === 0) return 'the route has no backend: give at least one stable or canary server';
  if (spec.stable.length + spec.canary.length > 200) return 'at most 200 servers behind one route';
  if (!Number.isFinite(spec.canaryWeight) || spec.canaryWeight < 0 || spec.canaryWeight > 100) return `canaryWeight must be 0-100 (got ${spec.canaryWeight})`;
  const m = matchParts(spec.match);
  if (m && !SAFE_NAME.test(m.name)) return `the ${m.kind} name "${m.name}" may hold only letters, digits, "-" and "_"`;
  if (m && !SAFE_VALUE.test(m.value)) return `the ${m.kind} value "${m.value}" may hold only letters, digits and ._~:/@+=-`;
  if (m && spec.canary.length === 0) return `a ${m.kind} match sends requests to the canary, which has no server`;
  return null;
}

export function matchParts(match: TrafficMatch | null): { kind: 'header' | 'cookie'; name: string; value: string } | null {
  if (!match) return null;
  if ('header' in match) return { kind: 'header', ...match.header };
  return { kind: 'cookie', ...match.cookie };
}


const ROUTE_HEADER_PREFIX = '# tollgate-route ';

/**
 * The first line of a router config the agent writes: what it was rendered from, so the route, the match and the
 * servers' names are read back from the config the router loaded.
 */
export const routeHeaderLine = (header: object): string => `${ROUTE_HEADER_PREFIX}${JSON.stringify(header)}`;

/** The header of a config this agent wrote (null: not ours, or damaged). */
export function parseRouteHeader<T>(text: string): T | null {
  const first = text.split('\n', 1)[0];
  if (!first.startsWith(ROUTE_HEADER_PREFIX)) return null;
  try {
    return JSON.parse(first.slice(ROUTE_HEADER_PREFIX.length)) as T;
  } catch {
    return null;
  }
}

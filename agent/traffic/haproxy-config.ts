import type { TrafficMatch, TrafficSpec, Variant } from '../../domain/traffic';
import { matchParts, parseRouteHeader, routeHeaderLine } from './spec-checks';
import { serverWeights } from './weights';

/**
 * The HAProxy config the agent owns for its route. One frontend on the route's listen address; one backend
 * (`split`) holding every stable and canary server with `balance roundrobin`, so the servers' weights give an
 * exact split; when the rollout routes by header or cookie, matching requests go to a second backend
 * (`canary_only`) holding only the canary servers. The admin socket is what weights change through without a
 * reload. The first line records what the config was rendered from, so the agent reads the route, the match and
 * the servers' names back from the config HAProxy loaded.
 */
export interface HaproxyPaths {
  socket: string;
  pidFile: string;
}

export interface RenderedServer {
  /** The name HAProxy knows it by: `<variant>-<index>`. */
  id: string;
  variant: Variant;
  name: string;
  targetId: string;
  address: string;
  weight: number;
}

export interface RenderedConfig {
  text: string;
  servers: RenderedServer[];
  /** Everything but the weights: equal shapes mean a weight change needs no reload. */
  shape: string;
}

export interface ConfigHeader {
  routeId: string;
  listen: string;
  match: TrafficMatch | null;
  servers: Array<Omit<RenderedServer, 'weight'>>;
}

export const SPLIT_BACKEND = 'split';
export const CANARY_BACKEND = 'canary_only';

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export function renderHaproxyConfig(spec: TrafficSpec, listen: string, paths: HaproxyPaths): RenderedConfig {
  const weights = serverWeights(spec);
  const servers: RenderedServer[] = [
    ...spec.stable.map((b, i) => ({ id: `stable-${i}`, variant: 'stable' as const, name: b.name, targetId: b.targetId, address: hostPort(b.host, b.port), weight: weights.stable[i] })),
    ...spec.canary.map((b, i) => ({ id: `canary-${i}`, variant: 'canary' as const, name: b.name, targetId: b.targetId, address: hostPort(b.host, b.port), weight: weights.canary[i] })),
  ];
  const header: ConfigHeader = { routeId: spec.routeId, listen, match: spec.match, servers: servers.map(({ weight: _w, ...rest }) => rest) };
  const m = matchParts(spec.match);
  const lines = [
    routeHeaderLine(header),
    '# Written by the tollgate agent: edits are lost at its next change.',
    'global',
    `  stats socket ${paths.socket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 10s',
    `  pidfile ${paths.pidFile}`,
    '  maxconn 4096',
    '',
    'defaults',
    '  mode http',
    '  option dontlognull',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  retries 1',
    '',
    'frontend route',
    `  bind ${listen}`,
    ...(m ? [`  acl canary_match ${m.kind === 'header' ? `req.hdr(${m.name})` : `req.cook(${m.name})`} -m str ${m.value}`, `  use_backend ${CANARY_BACKEND} if canary_match`] : []),
    `  default_backend ${SPLIT_BACKEND}`,
    '',
    `backend ${SPLIT_BACKEND}`,
    '  balance roundrobin',
    ...servers.map((s) => `  server ${s.id} ${s.address} weight ${s.weight}`),
    ...(m
      ? ['', `backend ${CANARY_BACKEND}`, '  balance roundrobin', ...servers.filter((s) => s.variant === 'canary').map((s) => `  server ${s.id} ${s.address} weight 1`)]
      : []),
    '',
  ];
  const text = lines.join('\n');
  return { text, servers, shape: text.replace(/ weight \d+$/gm, '') };
}

export const parseConfigHeader = (text: string): ConfigHeader | null => parseRouteHeader<ConfigHeader>(text);

/** The weight-free shape of a config on disk, comparable with RenderedConfig.shape. */
export function shapeOf(text: string): string {
  return text.replace(/ weight \d+$/gm, '');
}

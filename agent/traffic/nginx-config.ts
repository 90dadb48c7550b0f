import type { TrafficMatch, TrafficSpec, Variant } from '../../domain/traffic';
import { matchParts, parseRouteHeader, routeHeaderLine } from './spec-checks';
import { serverWeights } from './weights';

/**
 * The nginx config the agent owns for its route: upstream `split` with every stable and canary server and its
 * weight (nginx's smooth weighted round-robin serves the exact split; a server of weight 0 is `down`, since nginx
 * weights start at 1), and for a header or cookie match a `map` choosing upstream `canary_only`. The access log
 * names the upstream that answered and its status: nginx has no per-upstream counters of its own, so the agent
 * counts from it. The first line records what the config was rendered from, read back like HAProxy's.
 */
export interface NginxPaths {
  dir: string;
  pidFile: string;
  accessLog: string;
  errorLog: string;
}

export interface NginxHeader {
  routeId: string;
  listen: string;
  match: TrafficMatch | null;
  servers: Array<{ variant: Variant; name: string; address: string; weight: number }>;
}


export function renderNginxConfig(spec: TrafficSpec, listen: string, paths: NginxPaths): string {
  const weights = serverWeights(spec);
  const servers = [
    ...spec.stable.map((b, i) => ({ variant: 'stable' as const, name: b.name, address: `${b.host}:${b.port}`, weight: weights.stable[i] })),
    ...spec.canary.map((b, i) => ({ variant: 'canary' as const, name: b.name, address: `${b.host}:${b.port}`, weight: weights.canary[i] })),
  ];
  const header: NginxHeader = { routeId: spec.routeId, listen, match: spec.match, servers };
  const m = matchParts(spec.match);
  const variable = m ? (m.kind === 'header' ? `$http_${m.name.toLowerCase().replace(/-/g, '_')}` : `$cookie_${m.name}`) : null;
  const server = (s: (typeof servers)[number]) => `    server ${s.address}${s.weight > 0 ? ` weight=${s.weight}` : ' down'};`;
  const lines = [
    routeHeaderLine(header),
    '# Written by the tollgate agent: edits are lost at its next change.',
    'daemon off;',
    'worker_processes 1;',
    `pid ${paths.pidFile};`,
    `error_log ${paths.errorLog} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    "  log_format tollgate '$upstream_addr|$upstream_status|$upstream_response_time';",
    `  access_log ${paths.accessLog} tollgate;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${paths.dir}/tmp-${t};`),
    '  upstream split {',
    ...servers.map(server),
    '  }',
    ...(m ? ['  upstream canary_only {', ...servers.filter((s) => s.variant === 'canary').map((s) => `    server ${s.address};`), '  }'] : []),
    ...(m ? [`  map ${variable} $tollgate_upstream {`, '    default split;', `    "${m.value}" canary_only;`, '  }'] : []),
    '  server {',
    `    listen ${listen.startsWith(':') ? `*${listen}` : listen};`,
    '    location / {',
    `      proxy_pass http://${m ? '$tollgate_upstream' : 'split'};`,
    '      proxy_set_header Host $host;',
    '    }',
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}

export const parseNginxHeader = (text: string): NginxHeader | null => parseRouteHeader<NginxHeader>(text);

/** Each upstream's weight as the config states it (`down`: 0), by address, in order. */
export function upstreamWeights(text: string): Array<{ address: string; weight: number }> {
  const block = /upstream split \{([^}]*)\}/.exec(text)?.[1] ?? '';
  return [...block.matchAll(/server (\S+?)(?: weight=(\d+)| (down))?;/g)].map((m) => ({ address: m[1], weight: m[3] ? 0 : Number(m[2] ?? 1) }));
}

/** Access-log lines (`addr|status|seconds`; retries listed as `a, b`): the last upstream tried answered. */
export function countAccessLog(text: string): Map<string, { requests: number; errors5xx: number; seconds: number }> {
  const byAddress = new Map<string, { requests: number; errors5xx: number; seconds: number }>();
  const last = (field: string) => field.split(/,\s+|\s+:\s+/).pop()!.trim();
  for (const line of text.split('\n')) {
    const fields = line.trim().split('|');
    if (fields.length !== 3) continue;
    const address = last(fields[0]);
    const status = Number(last(fields[1]));
    const seconds = Number(last(fields[2]));
    const acc = byAddress.get(address) ?? { requests: 0, errors5xx: 0, seconds: 0 };
    acc.requests++;
    if (!(status < 500)) acc.errors5xx++;
    if (Number.isFinite(seconds)) acc.seconds += seconds;
    byAddress.set(address, acc);
  }
  return byAddress;
}

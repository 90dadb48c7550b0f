import net from 'node:net';

/**
 * HAProxy's runtime API on its admin socket: one connection per command (non-interactive mode: HAProxy answers and
 * closes). Weights change here without a reload; `show servers state` and `show stat` read weights and counters back.
 */
export function haproxyCommand(socket: string, command: string, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let out = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`HAProxy's admin socket ${socket} did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${command}\n`));
    conn.on('data', (chunk: string) => (out += chunk));
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** Rows of a `# a b c` / `# a,b,c` headed table, keyed by column name. */
function table(text: string, separator: RegExp): Array<Record<string, string>> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const headerAt = lines.findIndex((l) => l.startsWith('#'));
  if (headerAt < 0) return [];
  const columns = lines[headerAt].replace(/^#\s*/, '').split(separator);
  return lines.slice(headerAt + 1).map((line) => {
    const cells = line.split(separator);
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

export interface ServerState {
  backend: string;
  server: string;
  /** The weight set now (through the runtime API or the config). */
  weight: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  adminState: number;
}

export function parseServersState(text: string): ServerState[] {
  return table(text, / /).map((r) => ({
    backend: r.be_name,
    server: r.srv_name,
    weight: Number(r.srv_uweight),
    opState: Number(r.srv_op_state),
    adminState: Number(r.srv_admin_state),
  }));
}

export interface ServerStat {
  backend: string;
  server: string;
  status: string;
  requests: number;
  errors5xx: number;
  /** Mean response time (ms) over the server's last 1024 requests. */
  rtimeMs: number;
}

/** Server rows of `show stat` (CSV); frontends and backends' own totals are left out. */
export function parseShowStat(text: string): ServerStat[] {
  const num = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : 0);
  return table(text, /,/)
    .filter((r) => r.svname && r.svname !== 'FRONTEND' && r.svname !== 'BACKEND')
    .map((r) => ({
      backend: r.pxname,
      server: r.svname,
      status: r.status,
      // req_tot counts HTTP requests; stot (sessions) stands in where a version leaves it empty for servers.
      requests: r.req_tot && /^\d+$/.test(r.req_tot) ? num(r.req_tot) : num(r.stot),
      // A connection the server refused becomes a 503 the client sees: it counts against the server too.
      errors5xx: num(r.hrsp_5xx) + num(r.econ),
      rtimeMs: num(r.rtime),
    }));
}

/** `show info`'s Pid: the worker serving now (a reload starts a new one; a runtime weight change does not). */
export function parseInfoPid(text: string): number | null {
  const m = /^Pid:\s*(\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { DemoMetrics } from './metrics';

/**
 * The demo service Tollgate deploys in the README and the end-to-end tests: one per target, on its own port.
 * It says which version and release it runs, and its health check can be made to fail three ways: POST /fail
 * (until POST /recover), DEMO_FAIL_HEALTH=1 in its environment, or the file $DEMO_FAIL_FILE existing.
 * Its ordinary requests (GET /, what a router's load hits) can be made to answer 500 to a share of requests:
 * POST /fail-requests?rate=0.5 (rate 1 when absent; until POST /recover), --fail-requests RATE or
 * DEMO_FAIL_REQUESTS=RATE. GET /metrics serves Prometheus' text format: http_requests_total{version,status} and the
 * http_request_duration_seconds histogram by version, over every request but /metrics, /health and the controls.
 *
 *   npm run demo:service -- --port 4001 --version 1.0.0 --release-id rel-1
 *   PORT=4001 VERSION=1.0.0 RELEASE_ID=rel-1 npm run demo:service
 */

export interface DemoServiceOptions {
  port: number;
  host?: string;
  version: string;
  releaseId: string;
  failHealth?: boolean;
  failFile?: string;
  /** Share (0-1) of ordinary requests answered with 500 from the start. */
  failRequests?: number;
}

export interface DemoService {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const startedAt = new Date().toISOString();
  let toldToFail = false;
  let failRate = options.failRequests ?? 0;
  let ordinary = 0;
  const metrics = new DemoMetrics(options.version);
  // Deterministic: exactly `rate` of consecutive requests fail, so a measured error rate matches what was asked.
  const failsNow = (): boolean => {
    ordinary++;
    return Math.floor(ordinary * failRate) > Math.floor((ordinary - 1) * failRate);
  };
  const failing = (): string | null => {
    if (toldToFail) return 'told to fail (POST /fail)';
    if (options.failHealth) return 'DEMO_FAIL_HEALTH=1';
    if (options.failFile && existsSync(options.failFile)) return `${options.failFile} exists`;
    return null;
  };
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://demo');
    const route = `${req.method} ${url.pathname}`;
    const health = () => {
      const reason = failing();
      if (reason) return send(503, { status: 'failing', reason, version: options.version, releaseId: options.releaseId });
      return send(200, { status: 'ok', version: options.version, releaseId: options.releaseId });
    };
    req.resume();
    if (!CONTROL_ROUTES.has(route)) {
      const started = process.hrtime.bigint();
      res.once('finish', () => metrics.observe(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    }
    switch (route) {
      case 'GET /metrics':
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Cache-Control': 'no-store' });
        return res.end(metrics.text());
      case 'GET /': {
        if (failRate > 0 && failsNow()) return send(500, { status: 'error', reason: `told to fail ${failRate * 100}% of requests`, version: options.version, releaseId: options.releaseId });
        return health();
      }
      case 'GET /health':
        return health();
      case 'GET /version':
        return send(200, { version: options.version, releaseId: options.releaseId, pid: process.pid, startedAt });
      case 'POST /fail':
        toldToFail = true;
        return send(200, { failing: true });
      case 'POST /fail-requests': {
        const rate = parseRate(url.searchParams.get('rate') ?? '1');
        if (rate === null) return send(400, { error: `rate must be a number from 0 to 1 (got "${url.searchParams.get('rate')}")` });
        failRate = rate;
        ordinary = 0;
        return send(200, { failingRequests: failRate });
      }
      case 'POST /recover':
        toldToFail = false;
        failRate = 0;
        return send(200, { failing: failing() !== null, failingRequests: 0 });
      default:
        return send(404, { error: `no route ${route}` });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({
        server,
        port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

const CONTROL_ROUTES = new Set(['GET /metrics', 'GET /health', 'POST /fail', 'POST /fail-requests', 'POST /recover']);

function parseRate(text: string): number | null {
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(text.trim())) return null;
  return Number(text);
}

function optionsFrom(argv: string[], env: NodeJS.ProcessEnv): DemoServiceOptions & { pidFile?: string } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      version: { type: 'string' },
      'release-id': { type: 'string' },
      'pid-file': { type: 'string' },
      'fail-requests': { type: 'string' },
    },
  });
  const portText = values.port ?? env.PORT ?? '';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`demo service: --port (or PORT) must be a port number (got "${portText}")`);
  const rateText = values['fail-requests'] ?? env.DEMO_FAIL_REQUESTS ?? '0';
  const failRequests = parseRate(rateText);
  if (failRequests === null) throw new Error(`demo service: --fail-requests (or DEMO_FAIL_REQUESTS) must be a share from 0 to 1 (got "${rateText}")`);
  return {
    port,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    version: values.version ?? env.VERSION ?? '0.0.0',
    releaseId: values['release-id'] ?? env.RELEASE_ID ?? '',
    failHealth: env.DEMO_FAIL_HEALTH === '1',
    failFile: env.DEMO_FAIL_FILE || undefined,
    failRequests,
    pidFile: values['pid-file'] ?? env.PID_FILE ?? undefined,
  };
}

async function main() {
  let options: ReturnType<typeof optionsFrom>;
  try {
    options = optionsFrom(process.argv.slice(2), process.env);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const service = await startDemoService(options).catch((error) => {
    console.error(`demo service: cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
    process.exit(1);
  });
  // Written once listening, so whoever started it knows the service (not a shell in front of it) is up.
  if (options.pidFile) writeFileSync(options.pidFile, `${process.pid}\n`);
  console.log(JSON.stringify({ service: 'demo', msg: 'listening', port: service.port, version: options.version, releaseId: options.releaseId, pid: process.pid }));
  const stop = (signal: string) => {
    console.log(JSON.stringify({ service: 'demo', msg: 'stopping', signal, pid: process.pid }));
    service.server.closeAllConnections();
    void service.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) void main();

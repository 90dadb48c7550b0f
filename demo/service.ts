import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';

/**
 * The demo service Tollgate deploys in the README and the end-to-end tests: one per target, on its own port.
 * It says which version and release it runs, and its health check can be made to fail three ways: POST /fail
 * (until POST /recover), DEMO_FAIL_HEALTH=1 in its environment, or the file $DEMO_FAIL_FILE existing.
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
}

export interface DemoService {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const startedAt = new Date().toISOString();
  let toldToFail = false;
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
    const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    req.resume();
    switch (route) {
      case 'GET /health':
      case 'GET /': {
        const reason = failing();
        if (reason) return send(503, { status: 'failing', reason, version: options.version, releaseId: options.releaseId });
        return send(200, { status: 'ok', version: options.version, releaseId: options.releaseId });
      }
      case 'GET /version':
        return send(200, { version: options.version, releaseId: options.releaseId, pid: process.pid, startedAt });
      case 'POST /fail':
        toldToFail = true;
        return send(200, { failing: true });
      case 'POST /recover':
        toldToFail = false;
        return send(200, { failing: failing() !== null });
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
    },
  });
  const portText = values.port ?? env.PORT ?? '';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`demo service: --port (or PORT) must be a port number (got "${portText}")`);
  return {
    port,
    host: values.host ?? env.HOST ?? '127.0.0.1',
    version: values.version ?? env.VERSION ?? '0.0.0',
    releaseId: values['release-id'] ?? env.RELEASE_ID ?? '',
    failHealth: env.DEMO_FAIL_HEALTH === '1',
    failFile: env.DEMO_FAIL_FILE || undefined,
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

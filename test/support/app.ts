import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig, type Config } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db';
import { createLogger } from '../../platform/logger';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec } from '../../platform/payload-codec';
import { dataConverterOf, payloadKeys } from '../../platform/payload-keys';
import { startOrchestrator, type RunningWorker } from '../../worker/orchestrator';
import { testEnv } from './env';

export interface TokenOptions {
  tenant?: string;
  roles?: string[];
  permissions?: string[];
  email?: string | null;
  claims?: Record<string, unknown>;
  ttlSeconds?: number;
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestApp {
  url: string;
  config: Config;
  pool: Pool;
  tenant: string;
  client: Client;
  /** Signs a token the app trusts; `user` doubles as the email when it contains "@". */
  token(user: string, options?: TokenOptions): Promise<string>;
  signer: { privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK };
  http(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string }): Promise<HttpResult>;
  /** The API's own parts (the agent work relay, the event hub), for tests that look behind the HTTP answers. */
  deps: RunningApi['deps'];
  /** Payloads as Temporal stores them (encrypted, platform/payload-codec.ts), decoded with the app's keys. */
  decode(payloads: Payload[]): Promise<Payload[]>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Without a worker, workflows do not progress (for API-only tests). */
  worker?: boolean;
  /** Collects the API's JSON log lines (parsed) instead of discarding them. */
  logLines?: Array<Record<string, unknown>>;
}

/**
 * The real stack for one test file: an orchestrator worker on its own task
 * queue (so files never steal each other's tasks) and the API on a free port,
 * both against the run's Postgres and Temporal. Each file gets its own tenant.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  quietRuntime();
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `test-${randomUUID().slice(0, 8)}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
  const taskQueue = `test-${randomUUID()}`;
  const config = loadConfig({
    DATABASE_URL: testEnv.databaseUrl,
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: testEnv.dataDir,
    AUTH_JWKS: JSON.stringify({ keys: [publicJwk] }),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RATE_LIMIT_USER: '100000',
    RATE_LIMIT_TENANT: '100000',
    ...options.env,
  });
  const lines = options.logLines;
  const log = lines
    ? createLogger('api', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) })
    : createLogger('test', config.LOG_LEVEL);
  const pool = createPool(config.DATABASE_URL, 5);
  let worker: RunningWorker | undefined;
  const startWorker = async () => {
    worker = await startOrchestrator({ config, log: lines ? createLogger('test', 'silent') : log, workflowBundle: testEnv.workflowBundle, pool });
  };
  if (options.worker !== false) await startWorker();
  const api: RunningApi = await startApi(config, log);
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterOf(config) });
  const tenant = `t-${randomUUID().slice(0, 8)}`;

  return {
    url: api.url,
    config,
    pool,
    tenant,
    client,
    signer: { privateKey, jwk: privateJwk },
    async token(user, t = {}) {
      const email = t.email === null ? undefined : (t.email ?? (user.includes('@') ? user : undefined));
      return new SignJWT({
        user_id: user,
        tenant_id: t.tenant ?? tenant,
        roles: t.roles ?? ['release-manager'],
        permissions: t.permissions ?? [],
        ...(email ? { email } : {}),
        ...t.claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setSubject(user)
        .setIssuer(config.AUTH_ISSUER)
        .setAudience(config.AUTH_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${t.ttlSeconds ?? 3600}s`)
        .sign(privateKey);
    },
    async http(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${api.url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (docs, metrics)
      }
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    deps: api.deps,
    decode: (payloads) => new EncryptionCodec(payloadKeys(config)).decode(payloads),
    async stopWorker() {
      await worker?.shutdown();
      worker = undefined;
    },
    startWorker,
    async close() {
      await api.close();
      await worker?.shutdown();
      await connection.close();
      await pool.end();
    },
  };
}

/** The SDK runtime is per process (jest worker); install a quiet one the first time only. */
function quietRuntime(): void {
  try {
    // The API's agent-work relay polls for activities only: the SDK's note that it polls no workflows is expected.
    const print = new DefaultLogger((process.env.TEST_SDK_LOG_LEVEL as 'WARN') ?? 'WARN');
    Runtime.install({
      logger: new DefaultLogger((process.env.TEST_SDK_LOG_LEVEL as 'WARN') ?? 'WARN', (entry) => {
        if (!/^No (workflows|Nexus services) registered/.test(entry.message)) print.log(entry.level, entry.message, entry.meta);
      }),
    });
  } catch {
    // already installed by an earlier test file in this jest worker
  }
}

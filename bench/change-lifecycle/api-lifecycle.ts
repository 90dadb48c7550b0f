import { randomUUID } from 'node:crypto';
import { AURORA_EXAMPLE } from '../../test/fixtures/spec-examples';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startApi } from '../../api/server';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { startOrchestrator } from '../../worker/orchestrator';
import type { Stack } from './stack';

const REQUESTER = 'alice@example.com';
const APPROVERS = ['arch-review@example.com', 'security@example.com'];
const MIN = 60_000;
const HOUR = 60 * MIN;

export interface TollgateRunner {
  /** One normal change from create to closed; resolves to the two approve round trips in ms. */
  lifecycle(): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * The orchestrator worker (bundled from source) and the API in this process,
 * against the bench stack, with a key of our own so tokens are minted once.
 */
export async function startTollgate(stack: Stack): Promise<TollgateRunner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const config = loadConfig({
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-tollgate-${randomUUID().slice(0, 8)}`,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: stack.root,
    AUTH_JWKS: JSON.stringify({ keys: [jwk] }),
    LOG_LEVEL: 'silent',
    // The bench is one user hammering one tenant; the limiter must never answer 429.
    RATE_LIMIT_USER: '1000000',
    RATE_LIMIT_TENANT: '1000000',
  });
  const log = createLogger('bench', config.LOG_LEVEL);
  const worker = await startOrchestrator({ config, log });
  const api = await startApi(config, log).catch(async (err) => {
    await worker.shutdown();
    throw err;
  });

  const tenant = `bench-${randomUUID().slice(0, 8)}`;
  const token = (user: string, roles: string[]) =>
    new SignJWT({ user_id: user, tenant_id: tenant, roles, permissions: [], email: user })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject(user)
      .setIssuer(config.AUTH_ISSUER)
      .setAudience(config.AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('6h')
      .sign(privateKey);
  // Requests and carries out the change (change:implement).
  const requester = await token(REQUESTER, ['engineer']);
  // As in the API tests: named approvers need no CAB role, a listed cab-member has one.
  const approvers = [await token(APPROVERS[0], ['viewer']), await token(APPROVERS[1], ['cab-member'])];

  // Global fetch keeps connections alive per origin, so requests reuse sockets like a real client.
  const call = async (tokenOf: string, method: string, path: string, body: unknown, want: string) => {
    const res = await fetch(`${api.url}/prod/api/changes${path}`, {
      method,
      headers: { authorization: `Bearer ${tokenOf}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    const change = JSON.parse(text);
    if (change.state !== want) throw new Error(`${method} ${path}: expected state ${want}, got ${change.state}`);
    return change;
  };

  return {
    async lifecycle() {
      const { id } = await call(requester, 'POST', '', normalChange(), 'draft');
      await call(requester, 'POST', `/${id}/submit`, undefined, 'submitted');
      await call(requester, 'POST', `/${id}/submit-cab`, {}, 'cab_review');
      const approveMs: number[] = [];
      for (const [i, want] of (['cab_review', 'scheduled'] as const).entries()) {
        const t0 = performance.now();
        await call(approvers[i], 'POST', `/${id}/approve`, { comment: 'LGTM' }, want);
        approveMs.push(performance.now() - t0);
      }
      await call(requester, 'PATCH', `/${id}`, { state: 'in_progress' }, 'in_progress');
      await call(requester, 'PATCH', `/${id}`, { state: 'completed' }, 'completed');
      await call(requester, 'PATCH', `/${id}`, { state: 'closed' }, 'closed');
      return approveMs;
    },
    async close() {
      await api.close();
      await worker.shutdown();
    },
  };
}

/** The spec's Aurora example, with a window open now so work can start at once. */
function normalChange() {
  const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
  return {
    ...AURORA_EXAMPLE,
    scheduled_start: at(-MIN),
    scheduled_end: at(2 * HOUR),
    cab_approvers: APPROVERS,
  };
}

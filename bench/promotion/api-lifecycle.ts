import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startApi } from '../../api/server';
import { workflowId } from '../../domain/workflow-ids';
import { loadConfig } from '../../platform/config';
import { dataConverterOf } from '../../platform/payload-keys';
import { createLogger } from '../../platform/logger';
import { startOrchestrator } from '../../worker/orchestrator';
import type { Stack } from '../change-lifecycle/stack';
import type { Runner } from './baseline-driver';

/**
 * The orchestrator worker and the API in this process against the bench stack.
 * One environment with a two-approver policy and one release; every lifecycle
 * is a new promotion of it: request, two approvals, then the workflow deploys
 * (the recorded-deploy seam) and signs evidence on its own.
 */
export async function startTollgate(stack: Stack): Promise<Runner> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-promotion-${randomUUID().slice(0, 8)}`,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: stack.root,
    AUTH_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_USER: '1000000',
    RATE_LIMIT_TENANT: '1000000',
  });
  const log = createLogger('bench', config.LOG_LEVEL);
  const worker = await startOrchestrator({ config, log });
  const api = await startApi(config, log).catch(async (err) => {
    await worker.shutdown();
    throw err;
  });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  // The worker encrypts payloads: reading a result needs the same keys.
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterOf(config) });
  const tenant = `bench-${randomUUID().slice(0, 8)}`;
  const token = (user: string, claims: Record<string, unknown>) =>
    new SignJWT({ user_id: user, tenant_id: tenant, permissions: [], email: user, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject(user)
      .setIssuer(config.AUTH_ISSUER)
      .setAudience(config.AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('6h')
      .sign(privateKey);
  const admin = await token('release-manager@example.com', { roles: ['release-manager'] });
  const requester = await token('dev@example.com', { roles: ['developer'] });
  const approvers = [await token('sre1@example.com', { roles: ['viewer'], groups: ['sre-team'] }), await token('sre2@example.com', { roles: ['viewer'], groups: ['sre-team'] })];

  const call = async (method: string, path: string, bearer: string, body?: unknown, status = 200) => {
    const res = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${text}`);
    return JSON.parse(text).data;
  };
  const env = await call('POST', '/environments', admin, { name: 'Production', order: 1, requireSod: true, securityThresholds: { maxCritical: 0, maxHigh: 5 } }, 201);
  await call('POST', '/approval-policies', admin, { name: 'prod', environmentId: env.id, requiredApprovals: 2, approverGroups: ['sre-team'], requireSeparationOfDuties: true }, 201);
  const component = await call('POST', '/components', admin, { name: 'myapp' }, 201);
  // One open promotion per release and environment: each lifecycle promotes a release of its own, made before it is timed.
  let releases = 0;
  const newRelease = async () => {
    const version = `1.0.${releases++}`;
    await call('POST', `/components/${component.id}/sync-versions`, admin, { versions: [{ version, digest: `sha256:${releases.toString(16).padStart(64, 'b')}` }] });
    return call('POST', '/releases', admin, { name: `myapp-${version}`, version, components: [{ componentId: component.id, version }], securityScan: { criticalCount: 0, highCount: 0 } }, 201);
  };

  return {
    async lifecycle() {
      const release = await newRelease();
      const p = await call('POST', '/promotions', requester, { releaseId: release.id, targetEnvironmentId: env.id, reason: 'bench' }, 201);
      const approveMs: number[] = [];
      for (const approver of approvers) {
        const t0 = performance.now();
        await call('POST', `/promotions/${p.id}/approve`, approver, {});
        approveMs.push(performance.now() - t0);
      }
      const outcome = await client.workflow.getHandle(workflowId(tenant, 'promotion', p.id)).result();
      if (outcome.status !== 'deployed') throw new Error(`promotion ${p.id} ended ${outcome.status}`);
      return approveMs;
    },
    async close() {
      await connection.close();
      await api.close();
      await worker.shutdown();
    },
  };
}

import { randomBytes, randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { agentTaskQueue } from '../../domain/deployments/model';
import { dataConverterOf } from '../../platform/payload-keys';
import type { TestApp } from './app';
import { testEnv } from './env';
import { eventually } from './eventually';
import { createFakeRouter } from './fake-router';
import { stage, type Scene } from './promotion-scene';

/**
 * One environment ready for rollouts: a stable and a canary release, a stable
 * target and a canary target (`track: canary`) with their ports, the canary
 * target's sticker naming the canary release, and an agent that reports a
 * router (agents.router), whose queue a real worker serves from an in-memory
 * router (test/support/fake-router.ts). `routerless` leaves the router out.
 */
export interface RolloutStage {
  env: any;
  stable: any;
  canary: any;
  agentId: string;
  router: ReturnType<typeof createFakeRouter>;
  body(extra?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

// Orders are unique per tenant; a counter (not a random pick, whose birthday
// collisions failed one CI run in a file of a dozen stages) keeps them apart.
let nextOrder = 1000;

export async function rolloutStage(s: Scene, app: TestApp, options: { routerless?: boolean; canaryDeployed?: boolean } = {}): Promise<RolloutStage> {
  const { env, release: stable, component } = await stage(s, { env: { name: `Prod ${randomUUID().slice(0, 6)}`, order: nextOrder++, requiredApprovals: 0 } });
  await s.expect(200, 'POST', `/components/${component.id}/sync-versions`, s.admin, { versions: [{ version: '2.0.0', digest: `sha256:${randomBytes(32).toString('hex')}` }] });
  const canary = await s.expect(201, 'POST', '/releases', s.admin, { name: `${component.name}-v2.0.0`, version: '2.0.0', components: [{ componentId: component.id, version: '2.0.0' }] });
  const agentId = randomUUID();
  await app.pool.query(
    `INSERT INTO agents (tenant_id, id, name, environment_id, credential_hash, registered_by, router, last_heartbeat_at) VALUES ($1, $2, $3, $4, $5, 'test', $6, now())`,
    [s.tenant, agentId, `router-${agentId.slice(0, 8)}`, env.id, randomBytes(32).toString('hex'), options.routerless ? null : JSON.stringify({ provider: 'haproxy', listen: '127.0.0.1:18080' })],
  );
  const stableTarget = await s.expect(201, 'POST', '/targets', s.admin, { name: `stable-${agentId.slice(0, 6)}`, environmentId: env.id, labels: {}, properties: { port: '14001' } });
  const canaryTarget = await s.expect(201, 'POST', '/targets', s.admin, { name: `canary-${agentId.slice(0, 6)}`, environmentId: env.id, labels: { track: 'canary' }, properties: { port: '14002' } });
  for (const [target, release] of [
    [stableTarget, stable],
    [canaryTarget, options.canaryDeployed === false ? stable : canary],
  ]) {
    await app.pool.query(
      `INSERT INTO target_stickers (tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at) VALUES ($1, $2, $3, $4, $5, '{}', $6, $7, now())`,
      [s.tenant, target.id, release.id, release.name, release.version, randomUUID(), randomUUID()],
    );
  }
  const router = createFakeRouter();
  const connection = await NativeConnection.connect({ address: testEnv.temporalAddress });
  const worker = await Worker.create({ connection, taskQueue: agentTaskQueue(agentId), activities: router.activities, dataConverter: dataConverterOf(app.config) });
  const running = worker.run();
  let closed = false;
  return {
    env,
    stable,
    canary,
    agentId,
    router,
    body: (extra = {}) => ({
      name: 'myapp 2.4 canary',
      environmentId: env.id,
      stableReleaseId: stable.id,
      canaryReleaseId: canary.id,
      strategy: 'canary',
      steps: [{ setWeight: 10 }, { pause: { duration: '30s' } }, { setWeight: 50 }, { analysis: { metric: 'error-rate', max: 0.05, window: '30s' } }, { setWeight: 100 }],
      ...extra,
    }),
    async close() {
      if (closed) return;
      closed = true;
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Stages made during a test file, each closed (its router worker stopped) at the end; closing one early is harmless. */
export function rolloutStages(s: () => Scene, app: () => TestApp) {
  const stages: RolloutStage[] = [];
  return {
    async add(options?: Parameters<typeof rolloutStage>[2]): Promise<RolloutStage> {
      const st = await rolloutStage(s(), app(), options);
      stages.push(st);
      return st;
    },
    async closeAll(): Promise<void> {
      for (const st of stages) await st.close();
    },
  };
}

/** Polls GET /ab-releases/{id} until `check` passes (or its deadline): the rollout as it then is. */
export function rolloutReaches(s: () => Scene) {
  return (id: string, check: (r: any) => void, timeoutMs = 30_000) =>
    eventually(async () => {
      const r = await s().expect(200, 'GET', `/ab-releases/${id}`);
      check(r);
      return r;
    }, { timeoutMs });
}

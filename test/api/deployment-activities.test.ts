import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createActivities, type Activities } from '../../activities';
import type { DeploymentJob, DeploymentTask, PlanRelease } from '../../domain/deployments/model';
import { loadConfig } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db';
import { createLogger } from '../../platform/logger';
import { eventually } from '../support/eventually';
import { testEnv } from '../support/env';
import { digest } from '../support/inventory';

/**
 * The deploymentJob workflow's Postgres activities, called as the worker
 * registers them, against the run's database: what each one leaves in the rows
 * a user reads, and that calling any of them again (as Temporal does on a retry)
 * changes nothing.
 */
let pool: Pool;
let listener: pg.Client;
let acts: Activities;
const tenant = `t-${randomUUID().slice(0, 8)}`;
const events: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  pool = createPool(testEnv.databaseUrl, 4);
  const config = loadConfig({ DATABASE_URL: testEnv.databaseUrl, DATA_DIR: testEnv.dataDir, AUTH_JWKS: '{"keys":[]}' });
  acts = createActivities({ pool, config, log: createLogger('test', 'silent') });
  listener = new pg.Client({ connectionString: testEnv.databaseUrl });
  await listener.connect();
  listener.on('notification', (msg) => {
    const payload = JSON.parse(msg.payload ?? '{}');
    if (msg.channel === 'tollgate_deployments' && payload.tenantId === tenant) events.push(payload);
  });
  await listener.query('LISTEN tollgate_deployments');
});

afterAll(async () => {
  await listener?.end();
  await pool?.end();
});

// Inventory rows, written directly: these tests are about the activities, not the inventory API.
let order = 0;
async function environment(deployment: unknown = null): Promise<string> {
  const id = randomUUID();
  order += 1;
  await pool.query('INSERT INTO environments (tenant_id, id, name, "order", created_by, deployment) VALUES ($1,$2,$3,$4,$5,$6)', [
    tenant, id, `env-${order}`, order, 'admin@example.com', deployment === null ? null : JSON.stringify(deployment),
  ]);
  return id;
}

async function component(name: string, deployHook: string | null): Promise<{ id: string; name: string }> {
  const id = randomUUID();
  await pool.query('INSERT INTO components (tenant_id, id, name, deploy_hook) VALUES ($1,$2,$3,$4)', [tenant, id, name, deployHook]);
  return { id, name };
}

async function release(name: string, version: string, parts: Array<{ c: { id: string; name: string }; version: string }>): Promise<string> {
  const id = randomUUID();
  const components = parts.map((p) => ({ componentId: p.c.id, name: p.c.name, version: p.version, digest: digest(`${p.c.name}${p.version}`) }));
  await pool.query('INSERT INTO releases (tenant_id, id, name, version, components, created_by) VALUES ($1,$2,$3,$4,$5,$6)', [
    tenant, id, name, version, JSON.stringify(components), 'dev@example.com',
  ]);
  return id;
}

async function target(environmentId: string, name: string, labels: Record<string, string>, extra: { agentId?: string; properties?: object; healthCheck?: object } = {}): Promise<string> {
  const id = randomUUID();
  await pool.query('INSERT INTO targets (tenant_id, id, environment_id, name, labels, agent_id, properties, health_check) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', [
    tenant, id, environmentId, name, JSON.stringify(labels), extra.agentId ?? null, JSON.stringify(extra.properties ?? {}), extra.healthCheck ? JSON.stringify(extra.healthCheck) : null,
  ]);
  return id;
}

function job(fields: Partial<DeploymentJob> & Pick<DeploymentJob, 'environmentId' | 'releaseId'>): DeploymentJob {
  const at = fields.createdAt ?? new Date().toISOString();
  return {
    id: randomUUID(),
    version: 1,
    kind: 'promotion',
    status: 'queued',
    statusReason: null,
    environmentName: 'env',
    releaseName: 'rel',
    releaseVersion: '1.0.0',
    promotionId: randomUUID(),
    rollbackId: null,
    strategy: { type: 'all-at-once' },
    failurePolicy: 'rollback',
    labelSelector: {},
    requestedBy: 'requester@example.com',
    queuePosition: null,
    pausedOn: null,
    progress: { total: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, running: 0, pending: 0 },
    batch: null,
    decisions: [],
    createdAt: at,
    startedAt: null,
    finishedAt: null,
    updatedAt: at,
    ...fields,
  };
}

/** The ledger claim an agent makes before it runs a task's hook: a sticker is recorded only for a claimed success. */
async function claimed(t: DeploymentTask): Promise<DeploymentTask> {
  await pool.query('INSERT INTO deployment_ledger (tenant_id, job_id, target_id, phase, attempt, task_id, agent_id) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING', [
    tenant, t.jobId, t.targetId, t.phase, t.attempt, t.id, t.agentId,
  ]);
  return t;
}

function task(fields: Partial<DeploymentTask> & Pick<DeploymentTask, 'jobId' | 'targetId'>): DeploymentTask {
  return {
    id: randomUUID(),
    version: 1,
    targetName: 'web-1',
    agentId: randomUUID(),
    phase: 'deploy',
    attempt: 1,
    status: 'pending',
    releaseId: randomUUID(),
    releaseName: 'rel',
    releaseVersion: '1.0.0',
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    healthChecks: 0,
    error: null,
    stoppedBy: null,
    log: { size: 0, capped: false, capBytes: 1024 },
    ...fields,
  };
}

const later = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

async function jobRow(id: string) {
  return (await pool.query('SELECT version, status, body FROM deployment_jobs WHERE tenant_id = $1 AND id = $2', [tenant, id])).rows[0];
}

async function auditOf(id: string) {
  const { rows } = await pool.query('SELECT action, actor, before, after FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id', [tenant, id]);
  return rows;
}

describe('loadDeploymentPlan', () => {
  const envHealth = { url: 'http://127.0.0.1:9000/health', retries: 3, intervalSeconds: 1, timeoutSeconds: 2 };
  const ownHealth = { command: 'curl -f localhost:9100', retries: 1, intervalSeconds: 1, timeoutSeconds: 1 };
  let env: string;
  let api: { id: string; name: string };
  let worker: { id: string; name: string };
  let v1: string;
  let v2: string;
  let webA: string;
  let webB: string;
  let agent: string;

  beforeAll(async () => {
    env = await environment({ strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'pause', deployHook: 'scripts/env-hook.sh', healthCheck: envHealth });
    api = await component(`api-${tenant}`, 'scripts/api-hook.sh');
    worker = await component(`worker-${tenant}`, null);
    v1 = await release(`shop-1-${tenant}`, '1.0.0', [{ c: api, version: '1.0.0' }, { c: worker, version: '1.0.0' }]);
    v2 = await release(`shop-2-${tenant}`, '2.0.0', [{ c: api, version: '2.0.0' }, { c: worker, version: '2.0.0' }]);
    agent = randomUUID();
    // Created out of name order: the plan lists targets by name.
    webB = await target(env, `web-b-${tenant}`, { role: 'web', zone: 'b' }, { agentId: agent, properties: { port: '8102' }, healthCheck: ownHealth });
    webA = await target(env, `web-a-${tenant}`, { role: 'web', zone: 'a' }, { agentId: agent, properties: { port: '8101' } });
    await target(env, `db-1-${tenant}`, { role: 'db' });
    const elsewhere = await environment();
    await target(elsewhere, `web-x-${tenant}`, { role: 'web' });

    // web-a runs v1 (recorded by an earlier job); web-b's sticker names a release deleted since.
    const earlier = job({ environmentId: env, releaseId: v1 });
    await acts.recordSticker({ tenantId: tenant, task: await claimed(task({ jobId: earlier.id, targetId: webA })), release: await planRelease(v1), deployedAt: '2026-01-01T10:00:00.000Z' });
    const gone = randomUUID();
    await pool.query(
      `INSERT INTO target_stickers (tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at)
       VALUES ($1, $2, $3, 'old-release', '0.9.0', '{}', $4, $5, '2025-12-01T00:00:00Z')`,
      [tenant, webB, gone, earlier.id, randomUUID()],
    );
  });

  async function planRelease(id: string): Promise<PlanRelease> {
    const { plan } = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: env, releaseId: id, labelSelector: { role: 'none' } });
    return plan.release;
  }

  it('holds the environment, its settings, the release with hooks falling back to the environment, and the targets the labels choose', async () => {
    const { plan, settings } = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: env, releaseId: v2, labelSelector: { role: 'web' } });
    expect(settings).toEqual({ strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'pause', deployHook: 'scripts/env-hook.sh', healthCheck: envHealth });
    expect(plan.environment).toEqual({ id: env, name: expect.stringMatching(/^env-/) });
    expect(plan.release).toEqual({
      id: v2,
      name: `shop-2-${tenant}`,
      version: '2.0.0',
      components: [
        { componentId: api.id, name: api.name, version: '2.0.0', digest: digest(`${api.name}2.0.0`), deployHook: 'scripts/api-hook.sh' },
        { componentId: worker.id, name: worker.name, version: '2.0.0', digest: digest(`${worker.name}2.0.0`), deployHook: 'scripts/env-hook.sh' },
      ],
    });
    expect(plan.targets.map((t) => t.name)).toEqual([`web-a-${tenant}`, `web-b-${tenant}`]);
    const [a, b] = plan.targets;
    expect(a).toEqual({
      id: webA,
      name: `web-a-${tenant}`,
      agentId: agent,
      labels: { role: 'web', zone: 'a' },
      properties: { port: '8101' },
      healthCheck: envHealth,
      previous: {
        releaseId: v1,
        releaseName: `shop-1-${tenant}`,
        version: '1.0.0',
        digests: { [api.name]: digest(`${api.name}1.0.0`), [worker.name]: digest(`${worker.name}1.0.0`) },
        jobId: expect.any(String),
        deployedAt: '2026-01-01T10:00:00.000Z',
      },
    });
    expect(b.healthCheck).toEqual(ownHealth);
    expect(b.previous).toMatchObject({ releaseName: 'old-release', version: '0.9.0' });
    // The deleted release is left out; v1 comes with its hooks, resolved the same way.
    expect(Object.keys(plan.previousReleases)).toEqual([v1]);
    expect(plan.previousReleases[v1].components.map((c) => [c.version, c.deployHook])).toEqual([
      ['1.0.0', 'scripts/api-hook.sh'],
      ['1.0.0', 'scripts/env-hook.sh'],
    ]);
  });

  it('narrows by every label given, and takes the whole environment with no selector', async () => {
    const narrow = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: env, releaseId: v2, labelSelector: { role: 'web', zone: 'b' } });
    expect(narrow.plan.targets.map((t) => t.id)).toEqual([webB]);
    const all = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: env, releaseId: v2, labelSelector: {} });
    expect(all.plan.targets.map((t) => t.name)).toEqual([`db-1-${tenant}`, `web-a-${tenant}`, `web-b-${tenant}`]);
    expect(all.plan.targets[0]).toMatchObject({ agentId: null, properties: {}, previous: null, healthCheck: envHealth });
  });

  it('without a selector of its own takes the environment\'s targetLabels; an explicit one wins', async () => {
    const labelled = await environment({ targetLabels: { role: 'web' } });
    await target(labelled, `lw-1-${tenant}`, { role: 'web' });
    await target(labelled, `ldb-1-${tenant}`, { role: 'db' });
    const byEnvironment = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: labelled, releaseId: v2, labelSelector: null });
    expect(byEnvironment.plan.targets.map((t) => t.name)).toEqual([`lw-1-${tenant}`]);
    const explicit = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: labelled, releaseId: v2, labelSelector: { role: 'db' } });
    expect(explicit.plan.targets.map((t) => t.name)).toEqual([`ldb-1-${tenant}`]);
  });

  it('gives an environment without deployment settings no hooks and no health check', async () => {
    const bare = await environment();
    await target(bare, `bare-1-${tenant}`, {});
    const plain = await component(`plain-${tenant}`, null);
    const rel = await release(`plain-1-${tenant}`, '1.0.0', [{ c: plain, version: '1.0.0' }, { c: api, version: '1.0.0' }]);
    const { plan, settings } = await acts.loadDeploymentPlan({ tenantId: tenant, environmentId: bare, releaseId: rel, labelSelector: {} });
    expect(settings).toEqual({});
    expect(plan.release.components.map((c) => c.deployHook)).toEqual([null, 'scripts/api-hook.sh']);
    expect(plan.targets[0].healthCheck).toBeNull();
    expect(plan.previousReleases).toEqual({});
  });

  it('fails for good on an environment or release that does not exist, or is another tenant\'s', async () => {
    await expect(acts.loadDeploymentPlan({ tenantId: tenant, environmentId: randomUUID(), releaseId: v2, labelSelector: {} })).rejects.toMatchObject({
      type: 'ENVIRONMENT_NOT_FOUND',
      nonRetryable: true,
    });
    await expect(acts.loadDeploymentPlan({ tenantId: tenant, environmentId: env, releaseId: randomUUID(), labelSelector: {} })).rejects.toMatchObject({
      type: 'RELEASE_NOT_FOUND',
      nonRetryable: true,
    });
    await expect(acts.loadDeploymentPlan({ tenantId: `${tenant}-other`, environmentId: env, releaseId: v2, labelSelector: {} })).rejects.toMatchObject({
      type: 'ENVIRONMENT_NOT_FOUND',
    });
  });
});

describe('persistDeploymentJob', () => {
  it('never lets an older version overwrite a newer one, and audits creation and each status move once', async () => {
    const env = await environment();
    const j1 = job({ environmentId: env, releaseId: randomUUID() });
    const j3 = { ...j1, version: 3, status: 'running' as const, startedAt: later(j1.createdAt, 1), updatedAt: later(j1.createdAt, 1) };
    const j2 = { ...j1, version: 2, status: 'queued' as const, queuePosition: 1, updatedAt: later(j1.createdAt, 2) };
    await acts.persistDeploymentJob({ tenantId: tenant, job: j1, requestId: 'req-1' });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j3 });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j2 });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j3 });
    const row = await jobRow(j1.id);
    expect(row).toMatchObject({ version: 3, status: 'running' });
    expect(row.body).toEqual(j3);
    expect(await auditOf(j1.id)).toEqual([
      { action: 'deployment_job.create', actor: 'requester@example.com', before: {}, after: expect.objectContaining({ status: 'queued', kind: 'promotion', environmentId: env }) },
      { action: 'deployment_job.running', actor: 'tollgate', before: { status: 'queued' }, after: { status: 'running', statusReason: null } },
    ]);
  });

  it('records a deployed job in release_deployments exactly once, retries and later versions included', async () => {
    const env = await environment();
    const rel = randomUUID();
    const j = job({ environmentId: env, releaseId: rel, status: 'running' });
    const done = { ...j, version: 2, status: 'deployed' as const, finishedAt: later(j.createdAt, 30), updatedAt: later(j.createdAt, 30) };
    await acts.persistDeploymentJob({ tenantId: tenant, job: j });
    await acts.persistDeploymentJob({ tenantId: tenant, job: done });
    await acts.persistDeploymentJob({ tenantId: tenant, job: done });
    await acts.persistDeploymentJob({ tenantId: tenant, job: { ...done, version: 3, updatedAt: later(j.createdAt, 31) } });

    // A rollback job has no promotion to key the record on: still once.
    const back = job({ environmentId: env, releaseId: rel, kind: 'rollback', promotionId: null, rollbackId: randomUUID(), status: 'deployed', finishedAt: later(j.createdAt, 60) });
    await acts.persistDeploymentJob({ tenantId: tenant, job: back });
    await acts.persistDeploymentJob({ tenantId: tenant, job: back });
    await acts.persistDeploymentJob({ tenantId: tenant, job: { ...back, version: 2, updatedAt: later(j.createdAt, 61) } });

    const { rows } = await pool.query('SELECT release_id, promotion_id, status, deployed_at FROM release_deployments WHERE tenant_id = $1 AND environment_id = $2 ORDER BY deployed_at', [tenant, env]);
    expect(rows).toEqual([
      { release_id: rel, promotion_id: j.promotionId, status: 'deployed', deployed_at: new Date(done.finishedAt!) },
      { release_id: rel, promotion_id: null, status: 'deployed', deployed_at: new Date(back.finishedAt!) },
    ]);
    expect((await auditOf(j.id)).map((a) => a.action)).toEqual(['deployment_job.create', 'deployment_job.deployed']);
  });

  it('does not record a job that failed or rolled back as deployed', async () => {
    const env = await environment();
    const j = job({ environmentId: env, releaseId: randomUUID(), status: 'running' });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j });
    await acts.persistDeploymentJob({ tenantId: tenant, job: { ...j, version: 2, status: 'rolling_back' } });
    await acts.persistDeploymentJob({ tenantId: tenant, job: { ...j, version: 3, status: 'rolled_back', statusReason: 'health check failed' } });
    const { rows } = await pool.query('SELECT 1 FROM release_deployments WHERE tenant_id = $1 AND environment_id = $2', [tenant, env]);
    expect(rows).toEqual([]);
    expect((await auditOf(j.id)).slice(-1)).toEqual([
      { action: 'deployment_job.rolled_back', actor: 'tollgate', before: { status: 'rolling_back' }, after: { status: 'rolled_back', statusReason: 'health check failed' } },
    ]);
  });

  it('audits each operator decision under the operator who made it, once', async () => {
    const env = await environment();
    const j = job({ environmentId: env, releaseId: randomUUID(), status: 'paused' });
    const retry = { action: 'retry' as const, taskId: randomUUID(), targetId: randomUUID(), by: 'ops@example.com', reason: 'flaky port', at: later(j.createdAt, 5) };
    const next = { ...j, version: 2, status: 'running' as const, decisions: [retry], updatedAt: retry.at };
    await acts.persistDeploymentJob({ tenantId: tenant, job: j });
    await acts.persistDeploymentJob({ tenantId: tenant, job: next, requestId: 'req-retry' });
    await acts.persistDeploymentJob({ tenantId: tenant, job: next, requestId: 'req-retry' });
    await acts.persistDeploymentJob({ tenantId: tenant, job: { ...next, version: 3, progress: { ...next.progress, running: 1 } } });
    const audit = await auditOf(j.id);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['deployment_job.create', 'requester@example.com'],
      ['deployment_job.retry', 'ops@example.com'],
      ['deployment_job.running', 'tollgate'],
    ]);
    expect(audit[1].after).toEqual({ action: 'retry', taskId: retry.taskId, targetId: retry.targetId, reason: 'flaky port' });
  });
});

describe('persistDeploymentTask', () => {
  it('writes newer versions only, keeps only the log cap in the body and never touches the log columns', async () => {
    const t1 = task({ jobId: randomUUID(), targetId: randomUUID(), status: 'running', startedAt: new Date().toISOString(), log: { size: 0, capped: false, capBytes: 1024 } });
    await acts.persistDeploymentTask({ tenantId: tenant, task: t1 });
    // What the log ingestion API writes while the hook runs.
    await pool.query("UPDATE deployment_tasks SET log_size = 4096, log_capped = true, stopped_by = 'SIGTERM' WHERE tenant_id = $1 AND id = $2", [tenant, t1.id]);
    const t2 = { ...t1, version: 2, status: 'succeeded' as const, exitCode: 0, healthChecks: 2, finishedAt: new Date().toISOString(), log: { size: 10, capped: false, capBytes: 1024 } };
    await acts.persistDeploymentTask({ tenantId: tenant, task: t2 });
    await acts.persistDeploymentTask({ tenantId: tenant, task: t1 });
    const { rows } = await pool.query('SELECT version, status, attempt, phase, agent_id, log_size, log_capped, stopped_by, body FROM deployment_tasks WHERE tenant_id = $1 AND id = $2', [tenant, t1.id]);
    const body = { ...t2, log: { capBytes: 1024 } };
    expect(rows).toEqual([{ version: 2, status: 'succeeded', attempt: 1, phase: 'deploy', agent_id: t1.agentId, log_size: 4096, log_capped: true, stopped_by: 'SIGTERM', body }]);
  });
});

describe('recordSticker', () => {
  it('sets the current sticker and adds one history entry per task, however often it is called', async () => {
    const env = await environment();
    const tgt = await target(env, `sticky-${tenant}`, {});
    const rel = (name: string, version: string): PlanRelease => ({
      id: randomUUID(),
      name,
      version,
      components: [
        { componentId: randomUUID(), name: 'api', version, digest: digest(`api${version}`), deployHook: 'x' },
        { componentId: randomUUID(), name: 'worker', version, digest: null, deployHook: null },
      ],
    });
    const r1 = rel('app-1', '1.0.0');
    const r2 = rel('app-2', '2.0.0');
    const first = await claimed(task({ jobId: randomUUID(), targetId: tgt, status: 'succeeded' }));
    const second = await claimed(task({ jobId: randomUUID(), targetId: tgt, status: 'succeeded' }));
    expect(await acts.recordSticker({ tenantId: tenant, task: first, release: r1, deployedAt: '2026-02-01T09:00:00.000Z' })).toEqual({ recorded: true, unclaimed: false });
    await acts.recordSticker({ tenantId: tenant, task: first, release: r1, deployedAt: '2026-02-01T09:00:00.000Z' });
    await acts.recordSticker({ tenantId: tenant, task: second, release: r2, deployedAt: '2026-02-02T09:00:00.000Z' });
    // The first task's call retried late: the history has it already, the current sticker stays the newer one.
    await acts.recordSticker({ tenantId: tenant, task: first, release: r1, deployedAt: '2026-02-01T09:00:00.000Z' });

    const current = await pool.query('SELECT release_id, release_name, version, digests, job_id, task_id, deployed_at FROM target_stickers WHERE tenant_id = $1 AND target_id = $2', [tenant, tgt]);
    expect(current.rows).toEqual([
      { release_id: r2.id, release_name: 'app-2', version: '2.0.0', digests: { api: digest('api2.0.0'), worker: null }, job_id: second.jobId, task_id: second.id, deployed_at: new Date('2026-02-02T09:00:00.000Z') },
    ]);
    const history = await pool.query('SELECT release_name, task_id, job_id FROM target_sticker_history WHERE tenant_id = $1 AND target_id = $2 ORDER BY deployed_at', [tenant, tgt]);
    expect(history.rows).toEqual([
      { release_name: 'app-1', task_id: first.id, job_id: first.jobId },
      { release_name: 'app-2', task_id: second.id, job_id: second.jobId },
    ]);
  });

  it('moves no sticker for a success no ledger claim of the task’s agent backs (another agent’s claim does not count)', async () => {
    const env = await environment();
    const tgt = await target(env, `unclaimed-${tenant}`, {});
    const r = { id: randomUUID(), name: 'app', version: '1', components: [] };
    const forged = task({ jobId: randomUUID(), targetId: tgt, status: 'succeeded' });
    expect(await acts.recordSticker({ tenantId: tenant, task: forged, release: r, deployedAt: new Date().toISOString() })).toEqual({ recorded: false, unclaimed: true });
    await claimed({ ...forged, agentId: randomUUID() });
    expect(await acts.recordSticker({ tenantId: tenant, task: forged, release: r, deployedAt: new Date().toISOString() })).toEqual({ recorded: false, unclaimed: true });
    const rows = await pool.query('SELECT (SELECT count(*) FROM target_stickers WHERE tenant_id = $1 AND target_id = $2) + (SELECT count(*) FROM target_sticker_history WHERE tenant_id = $1 AND target_id = $2) AS n', [tenant, tgt]);
    expect(rows.rows[0].n).toBe(0);
  });

  it('gives a target deleted meanwhile no sticker', async () => {
    const gone = randomUUID();
    const r = { id: randomUUID(), name: 'app', version: '1', components: [] };
    await acts.recordSticker({ tenantId: tenant, task: await claimed(task({ jobId: randomUUID(), targetId: gone })), release: r, deployedAt: new Date().toISOString() });
    const rows = await pool.query('SELECT (SELECT count(*) FROM target_stickers WHERE tenant_id = $1 AND target_id = $2) + (SELECT count(*) FROM target_sticker_history WHERE tenant_id = $1 AND target_id = $2) AS n', [tenant, gone]);
    expect(rows.rows[0].n).toBe(0);
  });
});

describe('environment slot', () => {
  const slot = (environmentId: string, jobId: string) => acts.acquireEnvironmentSlot({ tenantId: tenant, environmentId, jobId });
  const release = (environmentId: string, jobId: string) => acts.releaseEnvironmentSlot({ tenantId: tenant, environmentId, jobId });
  const queued = async (environmentId: string, createdAt: string) => {
    const j = job({ environmentId, releaseId: randomUUID(), createdAt });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j });
    return j;
  };
  const move = (j: DeploymentJob, status: DeploymentJob['status'], version: number) =>
    acts.persistDeploymentJob({ tenantId: tenant, job: { ...j, version, status, updatedAt: later(j.createdAt, version) } });

  it('goes to jobs in the order they were created, each waiting one knowing its place', async () => {
    const env = await environment();
    const a = await queued(env, '2026-03-01T10:00:00.000Z');
    const b = await queued(env, '2026-03-01T10:00:01.000Z');
    const c = await queued(env, '2026-03-01T10:00:02.000Z');

    // A takes the slot; until A's next write it still reads 'queued' and is not counted in the line.
    expect(await slot(env, a.id)).toEqual({ acquired: true, position: 0, holderJobId: a.id });
    expect(await slot(env, b.id)).toEqual({ acquired: false, position: 1, holderJobId: a.id });
    await move(a, 'running', 2);
    expect(await slot(env, a.id)).toEqual({ acquired: true, position: 0, holderJobId: a.id });
    expect(await slot(env, b.id)).toEqual({ acquired: false, position: 1, holderJobId: a.id });
    expect(await slot(env, c.id)).toEqual({ acquired: false, position: 2, holderJobId: a.id });

    await move(a, 'deployed', 3);
    expect(await release(env, a.id)).toEqual({ nextJobId: b.id });
    expect(await release(env, a.id)).toEqual({ nextJobId: b.id });
    // Free, but B came first: C keeps waiting behind it.
    expect(await slot(env, c.id)).toEqual({ acquired: false, position: 2, holderJobId: null });
    expect(await slot(env, b.id)).toEqual({ acquired: true, position: 0, holderJobId: b.id });
    expect(await slot(env, c.id)).toEqual({ acquired: false, position: 1, holderJobId: b.id });

    // Another environment's slot is its own.
    const other = await environment();
    const d = await queued(other, '2026-03-01T10:00:03.000Z');
    expect(await slot(other, d.id)).toEqual({ acquired: true, position: 0, holderJobId: d.id });
  });

  it('is taken over from a holder whose job has finished without giving it back', async () => {
    const env = await environment();
    const a = await queued(env, '2026-03-02T10:00:00.000Z');
    const b = await queued(env, '2026-03-02T10:00:01.000Z');
    expect((await slot(env, a.id)).acquired).toBe(true);
    await move(a, 'running', 2);
    expect(await slot(env, b.id)).toEqual({ acquired: false, position: 1, holderJobId: a.id });
    await move(a, 'cancelled', 3);
    expect(await slot(env, b.id)).toEqual({ acquired: true, position: 0, holderJobId: b.id });
    const { rows } = await pool.query('SELECT job_id FROM environment_deploy_slots WHERE tenant_id = $1 AND environment_id = $2', [tenant, env]);
    expect(rows).toEqual([{ job_id: b.id }]);
    // The stale holder's late release cannot free the slot it lost.
    expect(await release(env, a.id)).toEqual({ nextJobId: null });
    expect(await slot(env, b.id)).toEqual({ acquired: true, position: 0, holderJobId: b.id });
  });

  it('lets exactly one of several jobs asking at once take a free slot', async () => {
    const env = await environment();
    const jobs = await Promise.all([0, 1, 2, 3].map(() => queued(env, '2026-03-03T10:00:00.000Z')));
    // Same creation time: the id breaks the tie, so the lowest id is first in line and the only one to get it.
    const answers = await Promise.all(jobs.map((j) => slot(env, j.id)));
    const first = [...jobs].sort((x, y) => (x.id < y.id ? -1 : 1))[0];
    expect(answers.filter((x) => x.acquired)).toEqual([{ acquired: true, position: 0, holderJobId: first.id }]);
    for (const x of answers.filter((y) => !y.acquired)) expect(x.position).toBeGreaterThanOrEqual(1);
    const { rows } = await pool.query('SELECT job_id FROM environment_deploy_slots WHERE tenant_id = $1 AND environment_id = $2', [tenant, env]);
    expect(rows).toEqual([{ job_id: first.id }]);
  });
});

describe('change events', () => {
  it('announce each job and task write on tollgate_deployments, and only writes that landed', async () => {
    const env = await environment();
    const j = job({ environmentId: env, releaseId: randomUUID() });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j });
    await acts.persistDeploymentJob({ tenantId: tenant, job: j });
    const t = task({ jobId: j.id, targetId: randomUUID() });
    await acts.persistDeploymentTask({ tenantId: tenant, task: t });
    await acts.persistDeploymentTask({ tenantId: tenant, task: t });
    const noAgent = task({ jobId: j.id, targetId: randomUUID(), agentId: null });
    await acts.persistDeploymentTask({ tenantId: tenant, task: noAgent });
    await acts.persistDeploymentJob({ tenantId: tenant, job: { ...j, version: 2, status: 'running' } });

    // Notifications arrive in commit order: once the last write's event is in, anything a retry sent would be too.
    await eventually(() => {
      expect(events.filter((e) => e.jobId === j.id)).toEqual([
        { tenantId: tenant, kind: 'job', jobId: j.id },
        { tenantId: tenant, kind: 'task', jobId: j.id, taskId: t.id, agentId: t.agentId },
        { tenantId: tenant, kind: 'task', jobId: j.id, taskId: noAgent.id },
        { tenantId: tenant, kind: 'job', jobId: j.id },
      ]);
    });
  });
});

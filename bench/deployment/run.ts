import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { startApi } from '../../api/server';
import { agentTaskQueue } from '../../domain/deployments/model';
import { loadConfig } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { startOrchestrator } from '../../worker/orchestrator';
import { runWithTeardown, startStack, type Teardown } from '../change-lifecycle/stack';
import { workflowId } from '../../domain/workflow-ids';
import type { Strategy } from '../../domain/deployments/model';
import { startAgent, type AgentProcess } from './agents';
import { startDeploymentBaseline } from './baseline';
import { jobOverhead, table, type JobResult, type TaskTimes } from './overhead';

/**
 * `npm run bench:deployment -- --targets 100 --agents 2 --batch-size 10`
 *
 * A throwaway stack, the API and the orchestrator worker in this process, and
 * agent processes owning N targets whose deploy hook is `true` and which have
 * no health check. One rolling job and one all-at-once job deploy to all of
 * them; for each the bench prints the job's wall time, the sum over its
 * batches of the slowest task's hook time, the overhead between the two, the
 * job's runs and longest history, and its wall time against a bare-Temporal
 * job of the same shape (bench/deployment/baseline-workflow.ts: the same
 * activities in the same batches on as many agent queues, no-op bodies), run
 * right after it on the same stack (`ratioToBaseline`).
 * Progress goes to stderr; the table and one JSON line to stdout.
 */
const say = (msg: string) => console.error(`[deployment] ${msg}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINISHED = ['deployed', 'failed', 'rolled_back', 'cancelled'];

function options() {
  const { values } = parseArgs({ options: { targets: { type: 'string' }, agents: { type: 'string' }, 'batch-size': { type: 'string' } } });
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    const value = Number(raw ?? fallback);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const targets = int('targets', values.targets, 100, 1, 1000);
  return { targets, agents: int('agents', values.agents, 2, 1, Math.min(8, targets)), batchSize: int('batch-size', values['batch-size'], 10, 1, targets) };
}

/** Polls `read` until it returns something truthy; `what` names the wait when it times out. */
async function until<T>(what: string, read: () => Promise<T | undefined | false | null>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await pause(intervalMs);
  }
}

async function main(teardown: Teardown): Promise<void> {
  const o = options();
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const stack = await startStack(teardown, say);

  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `bench-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_TASK_QUEUE: `bench-deployment-${randomUUID().slice(0, 8)}`,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: stack.root,
    AUTH_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_USER: '1000000',
    RATE_LIMIT_TENANT: '1000000',
  });
  const log = createLogger('bench', config.LOG_LEVEL);
  say('starting the orchestrator worker (bundling the workflows) and the API…');
  const worker = await startOrchestrator({ config, log });
  teardown.add('orchestrator worker', () => worker.shutdown());
  const api = await startApi(config, log);
  teardown.add('API', () => api.close());
  const connection = await Connection.connect({ address: stack.temporalAddress });
  teardown.add('Temporal client', () => connection.close());
  const client = new Client({ connection, namespace: 'default' });

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
  const admin = await token('release-manager@example.com', ['release-manager']);
  const registrar = await token('registrar@example.com', ['agent-registrar']);
  const call = async (method: string, p: string, body?: unknown, status = 200) => {
    const res = await fetch(`${api.url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== status) throw new Error(`${method} ${p}: expected ${status}, got ${res.status}: ${text}`);
    return JSON.parse(text);
  };
  const data = async (method: string, p: string, body?: unknown, status = 200) => (await call(method, p, body, status)).data;

  say(`creating an environment, a no-op component, two releases and ${o.targets} targets…`);
  const envBody = { name: 'Production', order: 1, requiredApprovals: 0 };
  const rolling = { strategy: { type: 'rolling', batchSize: o.batchSize }, failurePolicy: 'rollback' };
  const env = await data('POST', '/environments', { ...envBody, deployment: rolling }, 201);
  const component = await data('POST', '/components', { name: 'noop', deployHook: 'true' }, 201);
  await data('POST', `/components/${component.id}/sync-versions`, { versions: ['1.0.0', '2.0.0'].map((version) => ({ version, digest: `sha256:${version.replace(/\./g, '').padEnd(64, 'a')}` })) });
  const release = async (version: string) =>
    data('POST', '/releases', { name: `noop-${version}`, version, components: [{ componentId: component.id, version }], securityScan: { criticalCount: 0, highCount: 0 } }, 201);
  const releases = [await release('1.0.0'), await release('2.0.0')];
  const names = Array.from({ length: o.targets }, (_, i) => `t-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(names.slice(i, i + 10).map((name) => data('POST', '/targets', { name, environmentId: env.id, labels: { role: 'bench' } }, 201)));
  }

  say(`starting ${o.agents} agent process(es)…`);
  const agents: AgentProcess[] = [];
  const share = Math.ceil(names.length / o.agents);
  for (let a = 0; a < o.agents; a++) {
    const agent = startAgent({
      api: api.url,
      token: registrar,
      name: `bench-agent-${a + 1}`,
      environmentId: env.id,
      targets: names.slice(a * share, (a + 1) * share),
      stateDir: path.join(stack.root, 'agents', `agent-${a + 1}`),
    });
    agents.push(agent);
    teardown.add(agent.name, () => agent.stop());
  }
  const owners = await until(
    'every target to have an agent',
    async () => {
      for (const agent of agents) if (agent.child.exitCode !== null) throw new Error(`${agent.name} exited (${agent.child.exitCode}):\n${agent.tail()}`);
      const targets = await listAll(call, `/targets?environmentId=${env.id}`);
      return targets.length === o.targets && targets.every((t) => t.agentId) ? new Set(targets.map((t) => t.agentId as string)) : undefined;
    },
    180_000,
    500,
  );
  await until(
    "every agent's worker to poll its task queue",
    async () => {
      const polled = await Promise.all(
        [...owners].map(async (id) => {
          const described = await client.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: agentTaskQueue(id), kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
            taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
          });
          return (described.pollers ?? []).length > 0;
        }),
      );
      return polled.every(Boolean);
    },
    120_000,
    500,
  );

  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  teardown.add('ledger reader', () => db.end());
  const noopHookMs = measureNoopHook();
  say(`the no-op hook (sh -c true) takes ${noopHookMs.toFixed(1)} ms here (median of 21 runs)`);

  say('starting the bare-Temporal baseline workers…');
  const baseline = await startDeploymentBaseline(stack.temporalAddress, names, names.map((_, i) => Math.floor(i / share)));
  teardown.add('baseline workers', () => baseline.close());

  /** The job's runs (one more per continue-as-new) and the longest history among them. */
  const histories = async (jobId: string) => {
    const lengths: number[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId(tenant, 'deployment', jobId)}'` })) lengths.push(w.historyLength);
    return { runs: lengths.length, longestHistory: Math.max(...lengths) };
  };

  const deploy = async (rel: any, strategy: Strategy): Promise<JobResult> => {
    const t0 = performance.now();
    const promotion = await data('POST', '/promotions', { releaseId: rel.id, targetEnvironmentId: env.id, reason: 'bench' }, 201);
    const found = await until(`the deployment job of promotion ${promotion.id}`, async () => (await data('GET', `/deployment-jobs?promotionId=${promotion.id}`))[0], 60_000);
    const job = await until(`job ${found.id} to finish`, async () => {
      const j = await data('GET', `/deployment-jobs/${found.id}`);
      return FINISHED.includes(j.status) ? j : undefined;
    }, 600_000, 50);
    const requestToDeployedMs = performance.now() - t0;
    if (job.status !== 'deployed') throw new Error(`job ${job.id} ended ${job.status}: ${job.statusReason}`);
    const tasks = (await listAll(call, `/deployment-jobs/${job.id}/tasks`)) as TaskTimes[];
    const { rows } = await db.query('SELECT task_id, claimed_at FROM deployment_ledger WHERE tenant_id = $1 AND job_id = $2', [tenant, job.id]);
    const claims = new Map<string, Date>(rows.map((r) => [r.task_id as string, r.claimed_at as Date]));
    const baselineWallMs = await baseline.job(strategy);
    const result = { ...jobOverhead(job, tasks, claims, requestToDeployedMs, noopHookMs), ...(await histories(job.id)), baselineWallMs, ratioToBaseline: (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / baselineWallMs };
    say(
      `${result.strategy}: job wall ${Math.round(result.jobWallMs)} ms (baseline ${Math.round(baselineWallMs)} ms, ${result.ratioToBaseline.toFixed(2)}x), ` +
        `tasks Σmax ${Math.round(result.slowestTaskSumMs)} ms, request→deployed ${Math.round(requestToDeployedMs)} ms, ${result.runs} run(s), longest history ${result.longestHistory} events`,
    );
    return result;
  };

  say(`rolling job (batches of ${o.batchSize}) to ${o.targets} targets…`);
  const rollingResult = await deploy(releases[0], { type: 'rolling', batchSize: o.batchSize });
  await data('PUT', `/environments/${env.id}`, { ...envBody, deployment: { strategy: { type: 'all-at-once' }, failurePolicy: 'rollback' } });
  say(`all-at-once job to ${o.targets} targets…`);
  const allAtOnceResult = await deploy(releases[1], { type: 'all-at-once' });

  const rows = [rollingResult, allAtOnceResult];
  console.log(table(rows, `deployment bench: ${o.targets} targets, ${o.agents} agent(s), hook \`true\`, no health check`, noopHookMs));
  console.log(JSON.stringify({ targets: o.targets, agents: o.agents, batchSize: o.batchSize, noopHookMs, jobs: rows }));
}

/** What the agent's hook runner pays for `true`: starting a shell that does nothing (median of 21). */
function measureNoopHook(): number {
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    spawnSync('sh', ['-c', 'true']);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[10];
}

/** Every item of a Stella list, page by page. */
async function listAll(call: (method: string, p: string) => Promise<any>, p: string): Promise<any[]> {
  const all: any[] = [];
  for (let page = 1; page <= 1000; page++) {
    const res = await call('GET', `${p}${p.includes('?') ? '&' : '?'}pageSize=100&page=${page}`);
    all.push(...res.data);
    if (!res.meta?.pagination?.hasNext) break;
  }
  return all;
}

runWithTeardown(say, main);

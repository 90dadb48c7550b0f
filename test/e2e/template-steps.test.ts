import { createHash, randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { prepareScriptStep } from '../../activities/template-runs/steps/script';
import type { CommandMeta } from '../../domain/actor';
import type { TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { workflowId } from '../../domain/workflow-ids';
import { createLogger } from '../../platform/logger';
import { cancelRun, decideStep, getRun, searchAttributesOf, TEMPLATE_RUN_WORKFLOW_TYPE, type TemplateRunInput } from '../../workflows/template-runs/messages';
import type { templateRun } from '../../workflows/template-runs/template-run';
import { startAgentProcess, type AgentProcess } from '../support/agent-process';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/eventually';
import { scene, type Scene } from '../support/promotion-scene';
import { buildPipeline, expectStatus, type Pipeline } from '../support/promotions';

/**
 * Template runs whose steps reach other modules and a real agent: the
 * templateRun workflow on the app's worker, promotions through their own
 * workflows, the deployment job as the run's child, and a script on an agent
 * process that was started with --allow-scripts.
 */
let app: TestApp;
let s: Scene;
let p: Pipeline;
let tools: any;
let agent: AgentProcess;

beforeAll(async () => {
  app = await startTestApp();
  s = await scene(app, app.tenant);
  p = await buildPipeline(app, { requireSod: true, requiredApprovals: 1 });
  tools = await s.expect(201, 'POST', '/environments', s.admin, { name: 'Tools', order: 9, requiredApprovals: 0 });
  const target = await s.expect(201, 'POST', '/targets', s.admin, { name: 'tools-1', environmentId: tools.id, labels: {}, properties: {} });
  agent = await startAgentProcess(app, s, { name: 'tools-agent', environmentId: tools.id, targets: [target], args: ['--allow-scripts'] });
}, 420_000);
afterAll(async () => {
  await agent?.stop();
  await app?.close();
});

type Handle = WorkflowHandle<typeof templateRun>;

async function startRun(spec: TemplateSpec): Promise<{ handle: Handle; runId: string }> {
  const runId = randomUUID();
  const input: TemplateRunInput = {
    tenantId: app.tenant,
    runId,
    templateId: randomUUID(),
    templateVersion: 1,
    spec,
    parameters: {},
    requestedBy: 'dev@example.com',
    requestedByEmail: 'dev@example.com',
    createdAt: new Date().toISOString(),
  };
  const handle = await app.client.workflow.start<typeof templateRun>(TEMPLATE_RUN_WORKFLOW_TYPE, {
    workflowId: workflowId(app.tenant, 'template-run', runId),
    taskQueue: app.config.TEMPORAL_TASK_QUEUE,
    args: [input],
    typedSearchAttributes: searchAttributesOf(app.tenant, { id: runId, status: 'running', templateName: spec.name }),
    staticSummary: `${spec.name} v1`,
  });
  return { handle, runId };
}

const nodeOf = (run: WorkflowRun, id: string) => run.nodes.find((n) => n.nodeId === id)!;
const logsOf = async (runId: string, nodeId: string) =>
  (await app.pool.query<{ line: string }>('SELECT line FROM workflow_run_logs WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 ORDER BY seq', [app.tenant, runId, nodeId])).rows.map((r) => r.line);
const releaseManager: CommandMeta = { actor: { userId: 'rm@example.com', email: 'rm@example.com', permissions: ['template-run:operate'] } };

async function nodeReaches(handle: Handle, nodeId: string, status: string, timeoutMs = 90_000): Promise<WorkflowRun> {
  return until(`node ${nodeId} to be ${status}`, async () => {
    const run = await handle.query(getRun);
    return run && nodeOf(run, nodeId)?.status === status ? run : undefined;
  }, timeoutMs);
}

test('a release pipeline: gate, promote staging, a script on the agent, soak, sign-off, promote production, redeploy staging as a child job', async () => {
  const spec: TemplateSpec = {
    name: 'release-pipeline',
    nodes: [
      { id: 'gate_staging', type: 'gate', inputs: { releaseId: p.release.id, environmentId: p.staging.id } },
      { id: 'to_staging', type: 'promote', dependsOn: ['gate_staging'], inputs: { releaseId: p.release.id, environmentId: p.staging.id, reason: 'pipeline' } },
      {
        id: 'smoke',
        type: 'script',
        dependsOn: ['to_staging'],
        inputs: {
          environmentId: tools.id,
          command: 'echo "smoke of $VERSION on $TOLLGATE_NODE_ID"; echo "checked=$VERSION" >> "$TOLLGATE_OUTPUT"; echo "ok $VERSION" > report.txt; echo "token:${TOLLGATE_AGENT_TOKEN:-none}"',
          env: { VERSION: '2.3.1' },
          artifacts: ['report.txt'],
        },
      },
      { id: 'soak', type: 'wait', dependsOn: ['smoke'], inputs: { duration: '1s' } },
      { id: 'sign_off', type: 'approval', dependsOn: ['soak'], inputs: { approvals: 1 } },
      { id: 'to_production', type: 'promote', dependsOn: ['sign_off'], inputs: { releaseId: p.release.id, environmentId: p.production.id } },
      { id: 'redeploy_staging', type: 'deploy', dependsOn: ['to_production'], inputs: { promotionId: '${{ steps.to_staging.outputs.promotionId }}' } },
    ],
  };
  const { handle, runId } = await startRun(spec);
  await nodeReaches(handle, 'sign_off', 'running');
  await handle.executeUpdate(decideStep, { args: [{ nodeId: 'sign_off', decision: 'approved' }, releaseManager] });
  // The production promotion waits for its own approver, as any promotion does.
  const productionId = await until('the production promotion to await approval', async () => {
    const { rows } = await app.pool.query("SELECT id FROM promotions WHERE tenant_id = $1 AND target_environment_id = $2 AND status = 'awaiting_approval'", [app.tenant, p.production.id]);
    return rows[0]?.id as string | undefined;
  }, 60_000);
  const approver = await app.token('sre1@example.com', { roles: ['release-manager'] });
  await expectStatus(app.http('POST', `/api/v1/promotions/${productionId}/approve`, { token: approver, body: {} }), 200);

  const result = await handle.result();
  const run = await handle.query(getRun);
  expect([result.status, run!.status]).toEqual(['succeeded', 'succeeded']);
  expect(nodeOf(run!, 'gate_staging').outputs).toMatchObject({ passed: true });
  const staging = nodeOf(run!, 'to_staging').outputs as any;
  expect(staging).toMatchObject({ status: 'deployed', deploymentJobId: expect.any(String) });
  expect(nodeOf(run!, 'smoke').outputs).toMatchObject({ exitCode: 0, agentId: agent.id, outputs: { checked: '2.3.1' } });
  expect(nodeOf(run!, 'to_production').outputs).toMatchObject({ promotionId: productionId, status: 'deployed' });
  const redeploy = nodeOf(run!, 'redeploy_staging').outputs as any;
  expect(redeploy).toMatchObject({ status: 'deployed' });
  expect(redeploy.deploymentJobId).not.toBe(staging.deploymentJobId);
  const job = (await app.pool.query('SELECT kind, promotion_id, status FROM deployment_jobs WHERE tenant_id = $1 AND id = $2', [app.tenant, redeploy.deploymentJobId])).rows[0];
  expect(job).toEqual({ kind: 'promotion', promotion_id: staging.promotionId, status: 'deployed' });

  // The script's lines are the step's log; the agent's own token never reached it; its artifact is stored with its digest.
  const lines = await logsOf(runId, 'smoke');
  expect(lines).toEqual(expect.arrayContaining(['smoke of 2.3.1 on smoke', 'token:none', '[tollgate] exit code 0']));
  const artifact = (await app.pool.query('SELECT name, size, sha256, content FROM workflow_run_artifacts WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3', [app.tenant, runId, 'smoke'])).rows[0];
  expect(artifact).toMatchObject({ name: 'report.txt', size: 9, sha256: createHash('sha256').update('ok 2.3.1\n').digest('hex') });
  expect(String(artifact.content)).toBe('ok 2.3.1\n');
}, 240_000);

test('a failing script fails its node with the exit code; a cancelled run stops the running command on the agent', async () => {
  const failing = await startRun({ name: 'failing-script', nodes: [{ id: 'check', type: 'script', inputs: { environmentId: tools.id, command: 'echo broken; exit 3' } }] });
  const failed = await failing.handle.result();
  expect(failed.status).toBe('failed');
  const node = nodeOf((await failing.handle.query(getRun))!, 'check');
  expect(node).toMatchObject({ status: 'failed', error: { code: 'SCRIPT_FAILED', message: 'The script on tools-agent exited 3' } });
  expect(await logsOf(failing.runId, 'check')).toEqual(expect.arrayContaining(['broken', '[tollgate] exit code 3']));

  const long = await startRun({ name: 'long-script', nodes: [{ id: 'sleepy', type: 'script', inputs: { environmentId: tools.id, command: 'echo started; sleep 120' } }] });
  await until('the script to start on the agent', async () => (await logsOf(long.runId, 'sleepy')).includes('started'), 60_000);
  await long.handle.executeUpdate(cancelRun, { args: [{ reason: 'stop' }, releaseManager] });
  const ended = await long.handle.result();
  expect(ended.status).toBe('cancelled');
  expect(nodeOf((await long.handle.query(getRun))!, 'sleepy').status).toBe('cancelled');
  expect(await logsOf(long.runId, 'sleepy')).toContain('[tollgate] the step was cancelled: SIGTERM sent to the command');
}, 180_000);

test('a script runs only on an agent of its environment that allows scripts', async () => {
  const deps = { pool: app.pool, config: app.config, log: createLogger('steps-test', 'silent') };
  const request = (inputs: Record<string, unknown>) => ({ tenantId: app.tenant, runId: randomUUID(), nodeId: 'n', type: 'script' as const, inputs, attempt: 1, requestedBy: { userId: 'dev' } });
  const outside = prepareScriptStep(deps)(request({ environmentId: p.staging.id, agentId: agent.id, command: 'id' }));
  await expect(outside).rejects.toMatchObject({ type: 'AGENT_NOT_IN_ENVIRONMENT' });
  await expect(prepareScriptStep(deps)(request({ environmentId: p.staging.id, command: 'id' }))).rejects.toMatchObject({ type: 'NO_SCRIPT_AGENT', message: `No agent of environment ${p.staging.id} can run the script: it has no online agent` });
  expect(await prepareScriptStep(deps)(request({ environmentId: tools.id, command: 'id' }))).toMatchObject({ agentId: agent.id, agentName: 'tools-agent' });
});

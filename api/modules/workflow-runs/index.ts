import { cancelRun, decideStep, pauseRun, resumeRun } from '../../../workflows/template-runs/messages';
import { contentDisposition } from '../../content-disposition';
import { NotFound, Unprocessable } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { runStreamRoute } from './run-stream-route';
import { createRun, existingRun, nodeOf, updateRun } from './workflow-runs.dispatch';
import { listRunArtifacts, listRuns, readRunArtifact, readRunLog, RUN_SORT_COLUMNS } from './workflow-runs.queries';
import * as routes from './workflow-runs.routes';

export { runStepsAwaiting, type PendingRunStep } from './pending-steps';
export { PendingRunStepSchema } from './workflow-runs.responses';

/** Workflow runs (workflow-owned: commands go to the run's workflow, reads come from Postgres). */
export function workflowRunsRouter() {
  const router = createRouter();

  router.openapi(routes.listRunsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, Object.keys(RUN_SORT_COLUMNS), { field: 'created_at', direction: 'desc' });
    return okList(c, await listRuns(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.createRunRoute, async (c) => {
    requirePermission(c, 'template-run:create');
    const run = await createRun(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${run.id}`);
    return ok(c, run, 201);
  });

  router.openapi(routes.getRunRoute, async (c) => {
    requirePermission(c, 'template:read');
    return ok(c, await existingRun(c, c.req.valid('param').id));
  });

  router.openapi(routes.pauseRunRoute, async (c) => {
    requirePermission(c, 'template-run:operate');
    return ok(c, await updateRun(c, c.req.valid('param').id, pauseRun, c.req.valid('json') ?? {}));
  });
  router.openapi(routes.resumeRunRoute, async (c) => {
    requirePermission(c, 'template-run:operate');
    return ok(c, await updateRun(c, c.req.valid('param').id, resumeRun, c.req.valid('json') ?? {}));
  });
  router.openapi(routes.cancelRunRoute, async (c) => {
    requirePermission(c, 'template-run:operate');
    return ok(c, await updateRun(c, c.req.valid('param').id, cancelRun, c.req.valid('json') ?? {}));
  });

  router.openapi(routes.listStepsRoute, async (c) => {
    requirePermission(c, 'template:read');
    return ok(c, (await existingRun(c, c.req.valid('param').id)).nodes);
  });

  router.openapi(routes.getStepRoute, async (c) => {
    requirePermission(c, 'template:read');
    const { id, nodeId } = c.req.valid('param');
    return ok(c, nodeOf(await existingRun(c, id), nodeId));
  });

  router.openapi(routes.getStepLogsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const { id, nodeId } = c.req.valid('param');
    const { afterSeq, limit, itemIndex } = c.req.valid('query');
    nodeOf(await existingRun(c, id), nodeId);
    const page = await readRunLog(c.get('deps').pool, tenantId, id, nodeId, itemIndex ?? -1, afterSeq, limit);
    const last = page.lines[page.lines.length - 1];
    return ok(c, { runId: id, nodeId, lines: page.lines, nextAfterSeq: page.more && last ? last.seq : null });
  });

  router.openapi(routes.listStepArtifactsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const { id, nodeId } = c.req.valid('param');
    nodeOf(await existingRun(c, id), nodeId);
    const prefix = c.req.path.slice(0, c.req.path.indexOf('/workflow-runs/'));
    const artifacts = await listRunArtifacts(c.get('deps').pool, tenantId, id, nodeId);
    return ok(c, artifacts.map((a) => ({ ...a, downloadUrl: `${prefix}/workflow-runs/${id}/steps/${nodeId}/artifacts/${a.id}` })));
  });

  router.openapi(routes.downloadStepArtifactRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'template:read');
    const { id, nodeId, artifactId } = c.req.valid('param');
    nodeOf(await existingRun(c, id), nodeId);
    const artifact = await readRunArtifact(c.get('deps').pool, tenantId, id, nodeId, artifactId);
    if (!artifact) throw new NotFound(`Artifact ${artifactId} not found in node ${nodeId} of workflow run ${id}`, 'ARTIFACT_NOT_FOUND');
    return c.body(new Uint8Array(artifact.content), 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': contentDisposition(artifact.name),
      'Content-Length': String(artifact.content.length),
      ETag: `"sha256-${artifact.sha256}"`,
    });
  });

  // Who may decide is the workflow's call (the step's groups, separation of duties); reading is enough to ask.
  router.openapi(routes.approveStepRoute, async (c) => {
    requirePermission(c, 'template:read');
    const { id, nodeId } = c.req.valid('param');
    requireApprovalStep(nodeOf(await existingRun(c, id), nodeId));
    return ok(c, await updateRun(c, id, decideStep, { nodeId, decision: 'approved', ...c.req.valid('json') }));
  });
  router.openapi(routes.rejectStepRoute, async (c) => {
    requirePermission(c, 'template:read');
    const { id, nodeId } = c.req.valid('param');
    requireApprovalStep(nodeOf(await existingRun(c, id), nodeId));
    return ok(c, await updateRun(c, id, decideStep, { nodeId, decision: 'rejected', ...c.req.valid('json') }));
  });

  runStreamRoute(router);
  return router;
}

function requireApprovalStep(node: { nodeId: string; type: string }): void {
  if (node.type !== 'approval') throw new Unprocessable(`Node ${node.nodeId} is a ${node.type} step, not an approval`, 'NOT_AN_APPROVAL_STEP', { nodeId: node.nodeId, type: node.type });
}

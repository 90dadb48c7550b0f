import type { Context } from 'hono';
import { cancelDeploymentJob, decideDeploymentFailure } from '../../../workflows/deployments/messages';
import type { OperatorAction } from '../../../domain/deployments/model';
import type { AppEnv } from '../../context';
import { NotFound } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { contentDisposition } from '../../content-disposition';
import { clearRetry } from './deploy-clearance';
import { jobNotFound, loadJob, updateJobWorkflow } from './deployments.dispatch';
import { downloadUrl, findJob, findTask, isTaskFinished, ledgerOf, listArtifacts, listJobs, listTasks, readArtifact, readLog } from './deployments.queries';
import * as routes from './deployments.routes';
import { createRollback, findRollback, listRollbacks } from './rollbacks';
import * as rollbackRoutes from './rollbacks.routes';
import { streamRoutes } from './streams';

/**
 * DEPLOY: deployment jobs are workflow-owned (operator commands go to the
 * workflow, reads come from Postgres), rollbacks start new jobs, and two
 * WebSocket streams follow jobs and agents live.
 */
export function deploymentsRouter() {
  const router = createRouter();

  router.openapi(routes.listJobsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, routes.JOB_SORTS, { field: 'created_at', direction: 'desc' });
    return okList(c, await listJobs(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.getJobRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    return ok(c, await loadJob(c, tenantId, c.req.valid('param').id));
  });

  router.openapi(routes.listTasksRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id } = c.req.valid('param');
    const tasks = await listTasks(c.get('deps').pool, tenantId, id);
    // No task yet: the job may still be just started, or not be there at all.
    if (tasks.length === 0) await loadJob(c, tenantId, id);
    return ok(c, tasks);
  });

  router.openapi(routes.getTaskRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id, taskId } = c.req.valid('param');
    const task = await taskOf(c, tenantId, id, taskId);
    return ok(c, { ...task, ledger: await ledgerOf(c.get('deps').pool, tenantId, task) });
  });

  router.openapi(routes.getTaskLogsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id, taskId } = c.req.valid('param');
    const { offset, limit } = c.req.valid('query');
    const task = await taskOf(c, tenantId, id, taskId);
    const finished = isTaskFinished(task);
    const slice = await readLog(c.get('deps').pool, tenantId, taskId, offset, limit, finished);
    return ok(c, {
      taskId,
      offset: slice.offset,
      nextOffset: slice.nextOffset,
      data: slice.data,
      size: task.log.size,
      capped: task.log.capped,
      complete: finished && slice.nextOffset >= task.log.size,
    });
  });

  router.openapi(routes.listArtifactsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id } = c.req.valid('param');
    const artifacts = await listArtifacts(c.get('deps').pool, tenantId, id);
    if (artifacts.length === 0) await loadJob(c, tenantId, id);
    const prefix = c.req.path.slice(0, c.req.path.indexOf('/deployment-jobs/'));
    return ok(c, artifacts.map((a) => ({ ...a, downloadUrl: downloadUrl(prefix, a, id) })));
  });

  router.openapi(routes.downloadArtifactRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id, artifactId } = c.req.valid('param');
    const artifact = await readArtifact(c.get('deps').pool, tenantId, id, artifactId);
    if (!artifact) throw new NotFound(`Artifact ${artifactId} not found in deployment job ${id}`, 'ARTIFACT_NOT_FOUND');
    return c.body(new Uint8Array(artifact.content), 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': contentDisposition(artifact.name),
      'Content-Length': String(artifact.content.length),
      ETag: `"sha256-${artifact.sha256}"`,
      Digest: `sha-256=${Buffer.from(artifact.sha256, 'hex').toString('base64')}`,
    });
  });

  // Each answer to a paused job's failure is one update; the workflow's validator refuses a second answer to the same failure.
  const decide = async (c: Context<AppEnv>, id: string, action: OperatorAction, body: { taskId: string; reason?: string | null }) => {
    const principal = requirePermission(c, 'deployment:operate');
    // A retry deploys again: it meets the same check as every other deploying path (a freeze, for one).
    const reason = action === 'retry' ? await clearRetry(c, principal, await loadJob(c, principal.tenantId, id), body.reason ?? null) : (body.reason ?? null);
    return updateJobWorkflow(c, id, decideDeploymentFailure, { action, taskId: body.taskId, reason });
  };
  router.openapi(routes.retryRoute, async (c) => ok(c, await decide(c, c.req.valid('param').id, 'retry', c.req.valid('json'))));
  router.openapi(routes.skipRoute, async (c) => ok(c, await decide(c, c.req.valid('param').id, 'skip', c.req.valid('json'))));
  router.openapi(routes.rollbackRoute, async (c) => ok(c, await decide(c, c.req.valid('param').id, 'rollback', c.req.valid('json'))));
  router.openapi(routes.abortRoute, async (c) => ok(c, await decide(c, c.req.valid('param').id, 'abort', c.req.valid('json'))));

  router.openapi(routes.cancelRoute, async (c) => {
    requirePermission(c, 'deployment:operate');
    const body = c.req.valid('json') ?? {};
    return ok(c, await updateJobWorkflow(c, c.req.valid('param').id, cancelDeploymentJob, { reason: body.reason ?? null }));
  });

  router.openapi(rollbackRoutes.createRollbackRoute, async (c) => {
    requirePermission(c, 'deployment:operate');
    const rollback = await createRollback(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${rollback.id}`);
    return ok(c, rollback, 201);
  });

  router.openapi(rollbackRoutes.listRollbacksRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const query = c.req.valid('query');
    const sort = parseSort(query, ['created_at'], { field: 'created_at', direction: 'desc' });
    return okList(c, await listRollbacks(c, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(rollbackRoutes.getRollbackRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'deployment:read');
    const { id } = c.req.valid('param');
    const rollback = await findRollback(c, tenantId, id);
    if (!rollback) throw new NotFound(`Rollback ${id} not found`, 'ROLLBACK_NOT_FOUND');
    return ok(c, rollback);
  });

  streamRoutes(router);
  return router;
}

async function taskOf(c: Context<AppEnv>, tenantId: string, jobId: string, taskId: string) {
  const { pool } = c.get('deps');
  const task = await findTask(pool, tenantId, jobId, taskId);
  if (task) return task;
  if (!(await findJob(pool, tenantId, jobId))) throw jobNotFound(jobId);
  throw new NotFound(`Task ${taskId} not found in deployment job ${jobId}`, 'DEPLOYMENT_TASK_NOT_FOUND');
}

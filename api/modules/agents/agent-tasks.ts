import { randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { headBudget, splitFresh, tailKeepFrom, trimChunk, type LogChunk } from '../../../domain/deployments/log-cap';
import { withTransaction, type PoolClient } from '../../../platform/db';
import { notifyDeployment } from '../../../store/deployment-events';
import type { AppEnv } from '../../context';
import { auditedWrite, iso } from '../../entity-writes';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { requireAgentCredential } from '../../principal';
import { ok } from '../../respond';
import * as routes from './agents.routes';
import { requireSelf } from './agent-access';
import { artifactBody } from './artifact-body';

/**
 * What an agent calls while it runs a deployment task: the ledger claim that
 * keeps a hook from running twice, log chunks, and artifacts. A task is the
 * agent's when the deploymentJob workflow scheduled it on that agent.
 */
/**
 * Drops the tail's chunks (those at or past the head, `headEnd`) before `keepFrom`, cutting the one it falls in;
 * true when anything went. Only the chunks about to go are read, so a long tail costs nothing here.
 */
async function dropBeforeTail(
  db: PoolClient,
  tenantId: string,
  taskId: string,
  keepFrom: number,
  headEnd: number,
  insert: (at: number, text: string) => Promise<unknown>,
): Promise<boolean> {
  if (keepFrom <= headEnd) return false;
  const { rows } = await db.query<LogChunk>(
    'DELETE FROM deployment_task_logs WHERE tenant_id = $1 AND task_id = $2 AND "offset" >= $3 AND "offset" < $4 RETURNING "offset", data',
    [tenantId, taskId, headEnd, keepFrom],
  );
  for (const row of rows) {
    const kept = trimChunk(row, keepFrom);
    if (kept) await insert(kept.offset, kept.data);
  }
  return rows.length > 0;
}

export function agentTaskRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(routes.claimTaskRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, taskId } = c.req.valid('param');
    const body = c.req.valid('json');
    await requireSelf(c, principal, id);
    const { tenantId } = principal;
    await auditedWrite(c, async (db) => {
      const task = (await db.query('SELECT job_id, target_id, phase, attempt FROM deployment_tasks WHERE tenant_id = $1 AND id = $2 AND agent_id = $3', [tenantId, taskId, id])).rows[0];
      if (!task) return undefined;
      const expected = { jobId: task.job_id, targetId: task.target_id, phase: task.phase, attempt: task.attempt };
      if (expected.jobId !== body.jobId || expected.targetId !== body.targetId || expected.phase !== body.phase || expected.attempt !== body.attempt) {
        throw new Unprocessable(`The claim does not name task ${taskId}'s job, target, phase and attempt`, 'TASK_MISMATCH', { expected });
      }
      const claimed = await db.query(
        `INSERT INTO deployment_ledger (tenant_id, job_id, target_id, phase, attempt, task_id, agent_id) VALUES ($1,$2,$3,$4,$5,$6,$7)
         ON CONFLICT DO NOTHING RETURNING claimed_at`,
        [tenantId, body.jobId, body.targetId, body.phase, body.attempt, taskId, id],
      );
      if (!claimed.rowCount) {
        const held = (
          await db.query('SELECT task_id, agent_id, claimed_at FROM deployment_ledger WHERE tenant_id = $1 AND job_id = $2 AND target_id = $3 AND phase = $4 AND attempt = $5', [
            tenantId, body.jobId, body.targetId, body.phase, body.attempt,
          ])
        ).rows[0];
        throw new Conflict(`The ${body.phase} of attempt ${body.attempt} on this target was already claimed; its hook must not run again`, 'ALREADY_CLAIMED', {
          taskId: held?.task_id ?? null,
          agentId: held?.agent_id ?? null,
          claimedAt: iso(held?.claimed_at),
        });
      }
      return { result: true, audit: { action: 'deployment_task.claim', resourceType: 'deployment_task', resourceId: taskId, after: { ...body, agentId: id } } };
    }, { notFound: `Task ${taskId} not found for agent ${id}` });
    return ok(c, { claimed: true as const });
  });

  // Log chunks are telemetry, many per task: the chunk rows are their own record, with no audit row each.
  router.openapi(routes.appendLogRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, taskId } = c.req.valid('param');
    const { offset, data, stoppedBy } = c.req.valid('json');
    await requireSelf(c, principal, id);
    const { tenantId } = principal;
    const { config, pool } = c.get('deps');
    const capBytes = config.DEPLOY_LOG_CAP_BYTES;
    const answer = await withTransaction(pool, async (db) => {
      const task = (
        await db.query('SELECT job_id, log_size, log_capped FROM deployment_tasks WHERE tenant_id = $1 AND id = $2 AND agent_id = $3 FOR UPDATE', [tenantId, taskId, id])
      ).rows[0];
      if (!task) throw new NotFound(`Task ${taskId} not found for agent ${id}`);
      const size: number = task.log_size;
      if (offset > size) throw new Conflict(`The log holds ${size} characters; send from offset ${size}`, 'LOG_OFFSET_GAP', { size });
      // Every character counts toward the offsets, kept or not: the agent's count and the server's never part.
      const fresh = data.slice(size - offset);
      const { head, tail } = splitFresh(size, fresh, capBytes);
      const insert = (at: number, text: string) => db.query('INSERT INTO deployment_task_logs (tenant_id, task_id, "offset", data) VALUES ($1,$2,$3,$4)', [tenantId, taskId, at, text]);
      if (head) await insert(size, head);
      if (tail) await insert(size + head.length, tail);
      const dropped = tail ? await dropBeforeTail(db, tenantId, taskId, tailKeepFrom(size + fresh.length, capBytes), headBudget(capBytes), insert) : false;
      const capped: boolean = task.log_capped || dropped;
      const changed = fresh.length > 0 || stoppedBy !== undefined;
      if (changed) {
        await db.query('UPDATE deployment_tasks SET log_size = $3, log_capped = $4, stopped_by = COALESCE($5, stopped_by) WHERE tenant_id = $1 AND id = $2', [
          tenantId, taskId, size + fresh.length, capped, stoppedBy ?? null,
        ]);
        await notifyDeployment(db, { tenantId, kind: 'log', jobId: task.job_id, taskId, agentId: id });
      }
      return { size: size + fresh.length, capped, capBytes };
    });
    return ok(c, answer);
  });

  router.openapi(routes.uploadArtifactRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, taskId, name } = c.req.valid('param');
    await requireSelf(c, principal, id);
    const { tenantId } = principal;
    const { content, sha256 } = await artifactBody(c);
    const row = await auditedWrite(c, async (db) => {
      const task = (await db.query('SELECT job_id FROM deployment_tasks WHERE tenant_id = $1 AND id = $2 AND agent_id = $3', [tenantId, taskId, id])).rows[0];
      if (!task) return undefined;
      // A file uploaded again under the same name (a retried upload, a re-run hook) replaces the first and keeps its id.
      const { rows } = await db.query<{ id: string; job_id: string; task_id: string; name: string; size: number; sha256: string; created_at: Date }>(
        `INSERT INTO deployment_artifacts (tenant_id, id, job_id, task_id, name, size, sha256, content) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
         ON CONFLICT (tenant_id, task_id, name) DO UPDATE SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, content = EXCLUDED.content, created_at = now()
         RETURNING id, job_id, task_id, name, size, sha256, created_at`,
        [tenantId, randomUUID(), task.job_id, taskId, name, content.length, sha256, content],
      );
      await notifyDeployment(db, { tenantId, kind: 'artifact', jobId: task.job_id, taskId, agentId: id });
      const stored = rows[0];
      return { result: stored, audit: { action: 'deployment_artifact.upload', resourceType: 'deployment_task', resourceId: taskId, after: { id: stored.id, name, size: content.length, sha256 } } };
    }, { notFound: `Task ${taskId} not found for agent ${id}` });
    return ok(
      c,
      { id: row.id, jobId: row.job_id, taskId: row.task_id, name: row.name, size: row.size, sha256: row.sha256, createdAt: iso(row.created_at)! },
      201,
    );
  });
}

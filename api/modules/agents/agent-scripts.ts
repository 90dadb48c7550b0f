import { randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { scriptLineSeq, LINES_PER_ATTEMPT, type ScriptTaskInput } from '../../../domain/script-task';
import { storableCopy } from '../../../domain/text';
import { withTransaction, type Pool, type PoolClient } from '../../../platform/db';
import { DeliveryGone } from '../../agent-work/completion';
import type { AppEnv } from '../../context';
import { NotFound } from '../../errors';
import { requireAgentCredential } from '../../principal';
import { ok } from '../../respond';
import { requireSelf } from './agent-access';
import { artifactBody } from './artifact-body';
import * as routes from './agent-scripts.routes';

/** Lines the agent adds of its own past a try's cap (what it dropped, how the command ended). */
const NOTE_SLACK = 100;

/**
 * A script step's log lines and artifacts, as its agent sends them: written
 * to the run's rows (workflow_run_logs, workflow_run_artifacts) under the run
 * and node the delivery names, never under one the agent names itself, and
 * announced on `workflow_run_events` for the run's live stream.
 */
export function agentScriptRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(routes.appendScriptLinesRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, deliveryId } = c.req.valid('param');
    const { from, lines } = c.req.valid('json');
    await requireSelf(c, principal, id);
    const { tenantId } = principal;
    const answer = await withTransaction(c.get('deps').pool, async (db) => {
      const step = await scriptDelivery(db, tenantId, id, deliveryId, true);
      const base = scriptLineSeq(step.attempt, 0);
      const { rows } = await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM workflow_run_logs WHERE tenant_id = $1 AND run_id = $2 AND node_id = $3 AND item_index = $4 AND seq >= $5 AND seq < $6',
        [tenantId, step.runId, step.nodeId, step.itemIndex, base, base + LINES_PER_ATTEMPT],
      );
      const room = Math.max(0, step.logCapLines + NOTE_SLACK - Number(rows[0].n));
      const kept = storableCopy(lines.slice(0, room));
      let stored = 0;
      if (kept.length) {
        const inserted = await db.query(
          `INSERT INTO workflow_run_logs (tenant_id, run_id, node_id, item_index, seq, stream, line)
           SELECT $1, $2, $3, $4, $5::bigint + (l.ord - 1), l.stream, l.line FROM unnest($6::text[], $7::text[]) WITH ORDINALITY AS l(stream, line, ord)
           ON CONFLICT DO NOTHING`,
          [tenantId, step.runId, step.nodeId, step.itemIndex, scriptLineSeq(step.attempt, from), kept.map((l) => l.stream), kept.map((l) => l.text)],
        );
        stored = inserted.rowCount ?? 0;
        if (stored) await notifyRun(db, tenantId, step.runId, step.nodeId);
      }
      return { stored, capped: kept.length < lines.length };
    });
    return ok(c, answer, 200);
  });

  router.openapi(routes.uploadScriptArtifactRoute, async (c) => {
    const principal = requireAgentCredential(c);
    const { id, deliveryId, name } = c.req.valid('param');
    await requireSelf(c, principal, id);
    const { tenantId } = principal;
    const { content, sha256 } = await artifactBody(c);
    const row = await withTransaction(c.get('deps').pool, async (db) => {
      const step = await scriptDelivery(db, tenantId, id, deliveryId, false);
      const { rows } = await db.query<{ id: string; created_at: Date }>(
        `INSERT INTO workflow_run_artifacts (tenant_id, id, run_id, node_id, item_index, name, size, sha256, content) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
         ON CONFLICT (tenant_id, run_id, node_id, item_index, name) DO UPDATE SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, content = EXCLUDED.content, created_at = now()
         RETURNING id, created_at`,
        [tenantId, randomUUID(), step.runId, step.nodeId, step.itemIndex, name, content.length, sha256, content],
      );
      await notifyRun(db, tenantId, step.runId, step.nodeId);
      return { id: rows[0].id, runId: step.runId, nodeId: step.nodeId, itemIndex: step.itemIndex, name, size: content.length, sha256, createdAt: rows[0].created_at.toISOString() };
    });
    return ok(c, row, 201);
  });
}

/** The script step a delivery of this agent carries; another activity's delivery, or another agent's, is a 404. */
async function scriptDelivery(db: Pool | PoolClient, tenantId: string, agentId: string, deliveryId: string, lock: boolean): Promise<ScriptTaskInput> {
  const { rows } = await db.query<{ activity: string; input: ScriptTaskInput; finished_at: Date | null; outcome: string | null }>(
    `SELECT activity, input, finished_at, outcome FROM agent_deliveries WHERE tenant_id = $1 AND id = $2 AND agent_id = $3${lock ? ' FOR SHARE' : ''}`,
    [tenantId, deliveryId, agentId],
  );
  const row = rows[0];
  if (!row || row.activity !== 'runScript') throw new NotFound(`Delivery ${deliveryId} not found for agent ${agentId}`, 'DELIVERY_NOT_FOUND');
  if (row.finished_at) throw new DeliveryGone(`Delivery ${deliveryId} has ended (${row.outcome ?? 'finished'}): nothing more is stored for it`);
  return row.input;
}

async function notifyRun(db: Pool | PoolClient, tenantId: string, runId: string, nodeId: string): Promise<void> {
  await db.query("SELECT pg_notify('workflow_run_events', $1)", [JSON.stringify({ tenantId, runId, kind: 'log', nodeId })]);
}


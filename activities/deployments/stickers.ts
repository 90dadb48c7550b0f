import type { DeploymentTask, PlanRelease } from '../../domain/deployments/model';
import type { StickerOutcome } from '../../domain/deployments/ports';
import { withTransaction, type Pool } from '../../platform/db';

export interface RecordStickerInput {
  tenantId: string;
  task: DeploymentTask;
  release: PlanRelease;
  deployedAt: string;
}

/**
 * After a task succeeded, the target's version sticker names what it now runs:
 * the current row (what a rollback returns to, what drift compares with) and a
 * history entry per task. A retried call writes the same history row once, and
 * an older sticker arriving late never replaces a newer current one.
 */
export async function recordSticker(pool: Pool, input: RecordStickerInput): Promise<StickerOutcome> {
  const { tenantId, task, release } = input;
  const digests: Record<string, string | null> = {};
  for (const c of release.components) digests[c.name] = c.digest;
  return withTransaction(pool, async (db) => {
    // A success only counts when the ledger shows the task's agent claimed this attempt before running anything: an
    // answer from anywhere else (a process polling the agent's queue on Temporal directly) moves no sticker.
    const claim = await db.query(
      'SELECT 1 FROM deployment_ledger WHERE tenant_id = $1 AND job_id = $2 AND target_id = $3 AND phase = $4 AND attempt = $5 AND agent_id = $6',
      [tenantId, task.jobId, task.targetId, task.phase, task.attempt, task.agentId],
    );
    if (!claim.rowCount) return { recorded: false, unclaimed: true };
    // Shared lock: the target cannot be deleted under the sticker; one deleted meanwhile gets none.
    const target = await db.query('SELECT 1 FROM targets WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, task.targetId]);
    if (!target.rowCount) return { recorded: false, unclaimed: false };
    const values = [tenantId, task.targetId, release.id, release.name, release.version, JSON.stringify(digests), task.jobId, task.id, input.deployedAt];
    await db.query(
      `INSERT INTO target_sticker_history (tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING`,
      values,
    );
    await db.query(
      `INSERT INTO target_stickers (tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
       ON CONFLICT (tenant_id, target_id) DO UPDATE SET release_id = EXCLUDED.release_id, release_name = EXCLUDED.release_name,
         version = EXCLUDED.version, digests = EXCLUDED.digests, job_id = EXCLUDED.job_id, task_id = EXCLUDED.task_id, deployed_at = EXCLUDED.deployed_at
       WHERE target_stickers.deployed_at <= EXCLUDED.deployed_at`,
      values,
    );
    return { recorded: true, unclaimed: false };
  });
}

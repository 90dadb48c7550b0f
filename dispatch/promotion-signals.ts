import { UNDECIDED } from '../domain/promotions/state-machine';
import { workflowId } from '../domain/workflow-ids';
import type { Pool } from '../platform/db';
import type { Logger } from '../platform/logger';
import type { TemporalGateway } from '../platform/temporal';
import { promotionInputsChanged } from '../workflows/promotions/messages';

/**
 * Tells every open promotion that something its gates read moved (a scan, a
 * digest, a deploy hook, a policy, the environment's settings or freeze
 * windows): an undecided one re-gates and invalidates stale approvals, an
 * approved one (held by a freeze) looks again: whether the freeze still holds,
 * and whether what its approvals were bound to still stands. A signal is fire-and-forget: the
 * edit has landed whatever Temporal says, and each workflow acts on its own.
 */
const OPEN = [...UNDECIDED, 'approved'];

export interface PromotionSignalDeps {
  pool: Pool;
  temporal: TemporalGateway;
  log: Logger;
}

export async function notifyOpenPromotions(
  { pool, temporal, log }: PromotionSignalDeps,
  tenantId: string,
  scope: { releaseId?: string; environmentId?: string; componentId?: string },
  what: string,
): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM promotions p WHERE tenant_id = $1 AND status = ANY($2::text[])
        AND ($3::uuid IS NULL OR release_id = $3) AND ($4::uuid IS NULL OR target_environment_id = $4)
        AND ($5::jsonb IS NULL OR EXISTS (SELECT 1 FROM releases r WHERE r.tenant_id = p.tenant_id AND r.id = p.release_id AND r.components @> $5::jsonb))`,
    [tenantId, OPEN, scope.releaseId ?? null, scope.environmentId ?? null, scope.componentId ? JSON.stringify([{ componentId: scope.componentId }]) : null],
  );
  if (rows.length === 0) return 0;
  try {
    const client = await temporal.client();
    await Promise.all(
      rows.map((r) =>
        client.workflow
          .getHandle(workflowId(tenantId, 'promotion', r.id))
          .signal(promotionInputsChanged, { what })
          .catch((err) => log.warn({ err, promotionId: r.id }, 'could not tell a promotion its inputs changed')),
      ),
    );
  } catch (err) {
    log.warn({ err, what }, 'Temporal unavailable: open promotions were not told their inputs changed');
  }
  return rows.length;
}

import { compareDrift, type DriftReport } from '../../../domain/deployments/drift';
import { iso } from '../../entity-writes';

/** A target's version sticker and what its agent reports, compared: the answer of GET /targets/{id}/drift. */

type Row = Record<string, any>;

export const STICKER_COLUMNS = 'target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at';

export function presentSticker(r: Row) {
  return {
    targetId: r.target_id as string,
    releaseId: r.release_id as string,
    releaseName: r.release_name as string,
    version: r.version as string,
    digests: (r.digests ?? {}) as Record<string, string | null>,
    jobId: r.job_id as string,
    taskId: r.task_id as string,
    deployedAt: iso(r.deployed_at)!,
  };
}

type Sticker = ReturnType<typeof presentSticker>;

/** `staleAfterMs` is AGENT_OFFLINE_AFTER: the age at which the agent itself counts as offline. */
export function drift(target: { id: string; agentId: string | null; reported: Row | null; reportedAt: Date | string | null }, sticker: Sticker | null, staleAfterMs: number, nowMs = Date.now()) {
  const actual: DriftReport | null =
    target.reported && target.reportedAt
      ? { releaseId: target.reported.releaseId ?? null, version: target.reported.version ?? null, healthy: target.reported.healthy ?? null, reportedAt: iso(target.reportedAt)! }
      : null;
  const { status, reasons } = compareDrift({ hasAgent: target.agentId !== null, sticker, actual, staleAfterMs, nowMs });
  return { targetId: target.id, status, expected: sticker, actual, reasons };
}

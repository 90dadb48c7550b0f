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
interface Reported {
  releaseId: string | null;
  version: string | null;
  healthy: boolean | null;
  reportedAt: string;
}

export function drift(target: { id: string; agentId: string | null; reported: Row | null; reportedAt: Date | string | null }, sticker: Sticker | null, staleAfterMs: number, nowMs = Date.now()) {
  const actual: Reported | null =
    target.reported && target.reportedAt
      ? { releaseId: target.reported.releaseId ?? null, version: target.reported.version ?? null, healthy: target.reported.healthy ?? null, reportedAt: iso(target.reportedAt)! }
      : null;
  const answer = (status: 'in_sync' | 'drifted' | 'unknown' | 'no_sticker', reasons: string[]) => ({ targetId: target.id, status, expected: sticker, actual, reasons });
  if (!sticker) {
    return answer('no_sticker', ['Tollgate has not deployed to this target yet, so there is nothing to compare with']);
  }
  if (!actual) return answer('unknown', [target.agentId ? 'The agent has not reported what this target runs yet' : 'The target has no agent to report what it runs']);
  const age = nowMs - Date.parse(actual.reportedAt);
  if (age > staleAfterMs) {
    return answer('unknown', [`The last report is ${Math.round(age / 1000)}s old, older than ${Math.round(staleAfterMs / 1000)}s: the agent may be offline`]);
  }
  const reasons: string[] = [];
  if (actual.releaseId !== sticker.releaseId) reasons.push(`Release: the sticker says ${sticker.releaseName} (${sticker.releaseId}), the agent reports ${actual.releaseId ?? 'none'}`);
  if (actual.version !== sticker.version) reasons.push(`Version: the sticker says ${sticker.version}, the agent reports ${actual.version ?? 'none'}`);
  return answer(reasons.length ? 'drifted' : 'in_sync', reasons);
}

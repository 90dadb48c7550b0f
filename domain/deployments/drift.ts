/**
 * Drift: what Tollgate deployed to a target (its version sticker) against what
 * the target's agent last reported it runs. Only a fresh report from a target
 * that answers its health probe can say `in_sync`: a report older than
 * AGENT_OFFLINE_AFTER (the agent counts as offline by then) says nothing about
 * now, and a target that does not answer is not running what was deployed,
 * whatever the agent remembers deploying there.
 */

export type DriftStatus = 'in_sync' | 'drifted' | 'unknown' | 'no_sticker';

export interface DriftSticker {
  releaseId: string;
  releaseName: string;
  version: string;
}

export interface DriftReport {
  releaseId: string | null;
  version: string | null;
  /** The agent's probe of the target's health URL: false when it failed, null when the target has no URL to probe. */
  healthy: boolean | null;
  reportedAt: string;
}

export interface DriftInput {
  hasAgent: boolean;
  sticker: DriftSticker | null;
  actual: DriftReport | null;
  /** AGENT_OFFLINE_AFTER: a report older than this is stale. */
  staleAfterMs: number;
  nowMs: number;
}

const seconds = (ms: number) => Math.round(ms / 1000);

export function compareDrift({ hasAgent, sticker, actual, staleAfterMs, nowMs }: DriftInput): { status: DriftStatus; reasons: string[] } {
  if (!sticker) return { status: 'no_sticker', reasons: ['Tollgate has not deployed to this target yet, so there is nothing to compare with'] };
  if (!hasAgent) return { status: 'unknown', reasons: ['The target has no agent to report what it runs'] };
  if (!actual) return { status: 'unknown', reasons: ['The agent has not reported what this target runs yet'] };
  const age = nowMs - Date.parse(actual.reportedAt);
  if (age > staleAfterMs) {
    return {
      status: 'unknown',
      reasons: [`The last report is ${seconds(age)}s old, older than ${seconds(staleAfterMs)}s (AGENT_OFFLINE_AFTER): the agent is offline or not reporting`],
    };
  }
  const reasons: string[] = [];
  if (actual.healthy === false) {
    reasons.push(`Not answering: the agent's health probe of the target failed at ${actual.reportedAt}, so it does not serve what the sticker says was deployed`);
  }
  if (actual.releaseId !== sticker.releaseId) reasons.push(`Release: the sticker says ${sticker.releaseName} (${sticker.releaseId}), the agent reports ${actual.releaseId ?? 'none'}`);
  if (actual.version !== sticker.version) reasons.push(`Version: the sticker says ${sticker.version}, the agent reports ${actual.version ?? 'none'}`);
  return { status: reasons.length ? 'drifted' : 'in_sync', reasons };
}

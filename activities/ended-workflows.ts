import type { Client } from '@temporalio/client';
import { persistChangeActivity } from './changes/persist-change';
import { persistDeploymentJob } from './deployments/jobs';
import { releaseEnvironmentSlot } from './deployments/slots';
import { persistDeploymentTask } from './deployments/tasks';
import type { ActivityDeps } from './deps';
import { promotionActivities } from './promotions/promotion-activities';
import { markRollout, openRolloutRun } from './rollouts/ended-outside';
import { persistRun } from './template-runs/persist';
import { markChangeEnded } from '../domain/changes/ended-outside';
import type { Change } from '../domain/changes/model';
import { markJobEnded } from '../domain/deployments/ended-outside';
import type { DeploymentJob, DeploymentTask } from '../domain/deployments/model';
import { markPromotionEnded } from '../domain/promotions/ended-outside';
import { markRunEnded } from '../domain/templates/ended-outside';
import type { WorkflowRun } from '../domain/templates/model';
import type { Promotion } from '../domain/promotions/model';
import { rolloutLive, trafficNeedsRestore } from '../domain/rollouts/ended-outside';
import type { Rollout } from '../domain/rollouts/model';
import { ENDED_OUTSIDE_ACTION, type WorkflowEnding } from '../domain/workflow-endings';
import { workflowId } from '../domain/workflow-ids';
import { recordAudit } from '../platform/audit';
import type { Pool } from '../platform/db';
import { runStanding } from '../platform/workflow-endings';

/**
 * Finds a record whose workflow ended outside Tollgate and marks it, for the
 * API (a command that met a closed workflow) and the worker's sweep alike. Not
 * an activity: it lives beside them because each mark goes through the module's
 * own persistence (version-guarded, audit rows deduplicated), so a command and
 * a sweep marking at once write it once.
 */

export type EndedKind = 'change' | 'promotion' | 'deployment' | 'rollout' | 'template-run';
export const ENDED_KINDS: readonly EndedKind[] = ['change', 'promotion', 'deployment', 'rollout', 'template-run'];

export interface EndingDeps extends ActivityDeps {
  client: Client;
}

const TABLE: Record<EndedKind, string> = { change: 'changes', promotion: 'promotions', deployment: 'deployment_jobs', rollout: 'rollouts', 'template-run': 'workflow_runs' };
const RESOURCE_TYPE: Record<EndedKind, string> = { change: 'change', promotion: 'promotion', deployment: 'deployment_job', rollout: 'rollout', 'template-run': 'workflow-run' };

/** A record of any kind, as its module persisted it. */
type Ended = Change | Promotion | DeploymentJob | Rollout | WorkflowRun;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Used when a live record's workflow is not in Temporal at all. */
const GONE_REASON = 'the workflow no longer exists in Temporal (its history outlived the namespace retention, or the namespace was reset)';

/** The record's body as its module persisted it. */
async function loadBody<T>(pool: Pool, kind: EndedKind, tenantId: string, id: string): Promise<T | undefined> {
  if (kind !== 'change' && !UUID.test(id)) return undefined;
  const row = (await pool.query(`SELECT body FROM ${TABLE[kind]} WHERE tenant_id = $1 AND id = $2`, [tenantId, id])).rows[0] as { body: T } | undefined;
  return row?.body;
}

/**
 * Looks at a record's workflow and marks the record when the run behind its live
 * state ended without Tollgate. Answers the ending it marked, or null (the record
 * is finished, absent, or its workflow is running or completed on its own).
 */
export async function markIfEndedOutside(deps: EndingDeps, kind: EndedKind, tenantId: string, id: string): Promise<WorkflowEnding | null> {
  const body = await loadBody<Ended>(deps.pool, kind, tenantId, id);
  // A rollout no longer live still matters while its traffic is not known to be back on stable.
  if (!body || !(isLive(kind, body) || (kind === 'rollout' && trafficNeedsRestore(body as Rollout)))) return null;
  const standing = await runStanding(deps.client, workflowId(tenantId, kind, id));
  if (standing.standing === 'running' || standing.standing === 'completed') return null;
  const ending: WorkflowEnding =
    standing.standing === 'ended' ? standing.ending : { how: 'failed', by: 'temporal', reason: GONE_REASON, at: new Date().toISOString(), runId: '' };
  if (kind === 'rollout') {
    if (isLive(kind, body)) await markRollout(deps, tenantId, body as Rollout, ending);
    await openRolloutRun(deps, tenantId, id, `its previous run was ${ending.how} outside Tollgate; this one puts traffic back on stable and takes retry`);
    return ending;
  }
  await mark(deps, kind, tenantId, body as Exclude<Ended, Rollout>, ending);
  return ending;
}

function isLive(kind: EndedKind, body: Ended): boolean {
  if (kind === 'rollout') return rolloutLive(body as Rollout);
  const now = new Date().toISOString();
  const probe: WorkflowEnding = { how: 'failed', by: '', reason: null, at: now, runId: '' };
  if (kind === 'change') return markChangeEnded(body as Change, probe, now) !== null;
  if (kind === 'promotion') return markPromotionEnded(body as Promotion, probe, now) !== null;
  if (kind === 'template-run') return markRunEnded(body as WorkflowRun, probe, now) !== null;
  return markJobEnded(body as DeploymentJob, [], probe, now) !== null;
}

async function mark(deps: EndingDeps, kind: EndedKind, tenantId: string, body: Exclude<Ended, Rollout>, ending: WorkflowEnding): Promise<void> {
  const now = new Date().toISOString();
  const actor = { userId: ending.by, permissions: [] };
  if (kind === 'change') {
    const marked = markChangeEnded(body as Change, ending, now);
    if (marked) await persistChangeActivity(deps)({ tenantId, change: marked.next, events: marked.events, actor, assessed: false });
    return;
  }
  if (kind === 'promotion') {
    const marked = markPromotionEnded(body as Promotion, ending, now);
    if (marked) await promotionActivities(deps).persistPromotion({ tenantId, promotion: marked.next, events: marked.events, actor, decided: true });
    return;
  }
  if (kind === 'template-run') {
    const marked = markRunEnded(body as WorkflowRun, ending, now);
    if (marked) await persistRun(deps.pool, { tenantId, run: marked.next, batches: [{ actor, events: marked.events }] });
    return;
  }
  const tasks = (await deps.pool.query('SELECT body FROM deployment_tasks WHERE tenant_id = $1 AND job_id = $2', [tenantId, body.id])).rows.map(
    (r: { body: Omit<DeploymentTask, 'log'> & { log: { capBytes: number } } }): DeploymentTask => ({ ...r.body, log: { size: 0, capped: false, capBytes: r.body.log.capBytes } }),
  );
  const marked = markJobEnded(body as DeploymentJob, tasks, ending, now);
  if (!marked) return;
  const { job } = marked;
  // The job's own write names the status move; this row names who ended the run. First, so a retry still writes it.
  await recordAudit(deps.pool, {
    tenantId,
    actor: ending.by,
    action: `deployment_job.${ENDED_OUTSIDE_ACTION}`,
    resourceType: 'deployment_job',
    resourceId: job.id,
    before: { status: (body as DeploymentJob).status, version: body.version },
    after: { status: job.status, version: job.version, statusReason: job.statusReason, workflow: ending },
    occurredAt: now,
    dedupeKey: `deployment_job:${tenantId}:${job.id}:v${job.version}:ended`,
  });
  // Tasks first: the job's row is what says the mark is done.
  for (const task of marked.tasks) await persistDeploymentTask(deps.pool, { tenantId, task });
  await persistDeploymentJob(deps.pool, { tenantId, job });
  // Jobs queued behind it see a finished holder as a free slot at their next look; giving it back is cleaner still.
  await releaseEnvironmentSlot(deps.pool, { tenantId, environmentId: job.environmentId, jobId: job.id });
}

export interface EndedMark {
  ending: WorkflowEnding;
  /** The record's state (status) before the mark, and its version then and after. */
  before: { state?: string; status?: string; version: number; decidedAt?: string | null };
  markedVersion: number;
}

/** The newest mark of a record, if it has one. */
export async function findEndedMark(pool: Pool, kind: EndedKind, tenantId: string, id: string): Promise<EndedMark | undefined> {
  const row = (
    await pool.query(
      `SELECT before, after FROM audit_log WHERE tenant_id = $1 AND resource_type = $2 AND resource_id = $3 AND action = $4
        ORDER BY occurred_at DESC, id DESC LIMIT 1`,
      [tenantId, RESOURCE_TYPE[kind], id, `${RESOURCE_TYPE[kind]}.${ENDED_OUTSIDE_ACTION}`],
    )
  ).rows[0] as { before: EndedMark['before']; after: { version: number; workflow: WorkflowEnding } } | undefined;
  if (!row) return undefined;
  return { ending: row.after.workflow, before: row.before, markedVersion: row.after.version };
}

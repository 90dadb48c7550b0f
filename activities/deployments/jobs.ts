import { SYSTEM_USER } from '../../domain/actor';
import type { DeploymentJob, OperatorDecision } from '../../domain/deployments/model';
import { storableCopy } from '../../domain/text';
import { recordAudit } from '../../platform/audit';
import { withTransaction, type Pool, type PoolClient } from '../../platform/db';
import { notifyDeployment } from '../../store/deployment-events';

export interface PersistJobInput {
  tenantId: string;
  job: DeploymentJob;
  requestId?: string | null;
}

/** Who the audit log names for what the workflow does on its own (as workflows/entity.ts SYSTEM). */

/**
 * Writes the job's read-model row when its version is newer than the stored
 * one, so a retried or late attempt never rolls it back. Whatever else the
 * write implies (audit rows, the release_deployments record, the change event)
 * happens in the same transaction and only when the row really moved, so a
 * retry after a commit adds nothing.
 */
export async function persistDeploymentJob(pool: Pool, raw: PersistJobInput): Promise<void> {
  // The job quotes its tasks' errors (what targets and hooks said): made storable, as persistDeploymentTask does.
  const input = storableCopy(raw);
  const { tenantId, job } = input;
  await withTransaction(pool, async (db) => {
    const before = (await db.query('SELECT status, body FROM deployment_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, job.id])).rows[0] as
      | { status: string; body: DeploymentJob }
      | undefined;
    const row = await db.query(
      `INSERT INTO deployment_jobs (tenant_id, id, version, kind, environment_id, release_id, promotion_id, rollback_id, status, created_at, updated_at, body)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
       ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body
       WHERE deployment_jobs.version < EXCLUDED.version`,
      [tenantId, job.id, job.version, job.kind, job.environmentId, job.releaseId, job.promotionId, job.rollbackId, job.status, job.createdAt, job.updatedAt, JSON.stringify(job)],
    );
    if ((row.rowCount ?? 0) === 0) return;

    // A rollout's canary targets are not the environment: what it runs stays what its promotions deployed.
    if (job.status === 'deployed' && before?.status !== 'deployed' && job.kind !== 'rollout') await recordReleaseDeployment(db, tenantId, job);
    await auditJob(db, input, before);
    await notifyDeployment(db, { tenantId, kind: 'job', jobId: job.id });
  });
}

/**
 * What the promotion-order gate reads: the release now runs in the environment.
 * Once per job: a promotion's row is unique by promotion, and deployed_at is the
 * job's own finish time, so even a second write of the same job meets its first.
 */
async function recordReleaseDeployment(db: PoolClient, tenantId: string, job: DeploymentJob): Promise<void> {
  await db.query(
    `INSERT INTO release_deployments (tenant_id, release_id, environment_id, promotion_id, status, deployed_at)
     VALUES ($1, $2, $3, $4, 'deployed', $5) ON CONFLICT DO NOTHING`,
    [tenantId, job.releaseId, job.environmentId, job.promotionId, job.finishedAt ?? job.updatedAt],
  );
}

/**
 * The job's creation is the requester's act; status moves are the workflow's;
 * each operator decision (retry, skip, rollback, abort, cancel) is its operator's,
 * with the reason given. Dedupe keys make each entry land once.
 */
async function auditJob(db: PoolClient, input: PersistJobInput, before: { status: string; body: DeploymentJob } | undefined): Promise<void> {
  const { tenantId, job } = input;
  const base = { tenantId, resourceType: 'deployment_job', resourceId: job.id, requestId: input.requestId ?? undefined };
  const key = `deployment_job:${tenantId}:${job.id}`;
  if (!before) {
    await recordAudit(db, {
      ...base,
      actor: job.requestedBy,
      action: 'deployment_job.create',
      before: {},
      after: {
        status: job.status,
        kind: job.kind,
        environmentId: job.environmentId,
        releaseId: job.releaseId,
        promotionId: job.promotionId,
        rollbackId: job.rollbackId,
        strategy: job.strategy,
        failurePolicy: job.failurePolicy,
        labelSelector: job.labelSelector,
        // What the job was started for (a rollback's reason, and the freeze it overrides): its first statusReason.
        reason: job.statusReason,
      },
      occurredAt: job.createdAt,
      dedupeKey: `${key}:create`,
    });
  }
  const known = before?.body?.decisions?.length ?? 0;
  for (const [i, d] of (job.decisions ?? []).entries()) {
    if (i < known) continue;
    await recordAudit(db, { ...base, ...decisionEntry(d), dedupeKey: `${key}:decision:${i}` });
  }
  if (before && before.status !== job.status) {
    await recordAudit(db, {
      ...base,
      actor: SYSTEM_USER,
      action: `deployment_job.${job.status}`,
      before: { status: before.status },
      after: { status: job.status, statusReason: job.statusReason },
      occurredAt: job.updatedAt,
      dedupeKey: `${key}:v${job.version}:status`,
    });
  }
}

function decisionEntry(d: OperatorDecision) {
  return {
    actor: d.by,
    action: `deployment_job.${d.action}`,
    after: { action: d.action, taskId: d.taskId, targetId: d.targetId, reason: d.reason },
    occurredAt: d.at,
  };
}

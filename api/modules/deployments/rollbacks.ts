import { randomUUID } from 'node:crypto';
import { nameUuid } from '../../../platform/name-uuid';
import type { Context } from 'hono';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { CreateRollbackInput } from '../../../domain/deployments/job-requests';
import type { DeploymentJobInput } from '../../../domain/deployments/model';
import type { Principal } from '../../../domain/permissions';
import { clearDeployment, withOverride, type FreezeOverride } from '../../../domain/promotions/clearance';
import { workflowId } from '../../../domain/workflow-ids';
import type { PoolClient } from '../../../platform/db';
import { deploymentSettings } from '../../../platform/deployment-settings';
import { loadGateInputs } from '../../../store/gate-inputs';
import { deploymentTitle } from '../../../domain/workflow-titles';
import { DEPLOYMENT_JOB_WORKFLOW_TYPE, searchAttributesOf } from '../../../workflows/deployments/messages';
import type { AppEnv } from '../../context';
import { auditedWrite, iso } from '../../entity-writes';
import { Conflict, NotFound, Unprocessable } from '../../errors';
import { useIdempotencyKey } from '../../idempotency';
import { listPage } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';
import { principalOf } from '../../principal';
import { withinCommandTimeout } from '../../workflow-commands';

/**
 * A rollback is a row (who asked, why, from which release to which) and a
 * deploymentJob workflow that redeploys the chosen release. Both happen in one
 * transaction: the row commits only once the workflow has started, and a
 * retried request (same Idempotency-Key, hence the same rollback and job ids)
 * finds the row or the workflow already there instead of deploying twice.
 */

export interface Rollback {
  id: string;
  environmentId: string;
  releaseId: string;
  fromReleaseId: string | null;
  jobId: string;
  reason: string;
  requestedBy: string;
  /** Set when the rollback went ahead during a freeze (deployment:override-freeze). */
  freezeOverride: FreezeOverride | null;
  createdAt: string;
}

const KEY_SCOPE = 'rollback';
const COLUMNS = 'id, environment_id, release_id, from_release_id, job_id, reason, requested_by, freeze_override, created_at';

const present = (r: Record<string, any>): Rollback => ({
  id: r.id,
  environmentId: r.environment_id,
  releaseId: r.release_id,
  fromReleaseId: r.from_release_id ?? null,
  jobId: r.job_id,
  reason: r.reason,
  requestedBy: r.requested_by,
  freezeOverride: r.freeze_override ?? null,
  createdAt: iso(r.created_at)!,
});

/** The job of a rollback, derived from the rollback's id so every retry of one request names the same workflow. */
const jobIdOf = (tenantId: string, rollbackId: string): string => nameUuid(`rollback-job\n${tenantId}\n${rollbackId}`);

export async function createRollback(c: Context<AppEnv>, body: CreateRollbackInput): Promise<Rollback> {
  const { tenantId, userId, email } = principalOf(c);
  const keyed = await useIdempotencyKey(c, { scope: KEY_SCOPE, operation: 'create', body }, async () => randomUUID());
  if (keyed?.outcome) return keyed.outcome as Rollback;
  const id = keyed?.resource ?? randomUUID();
  const jobId = jobIdOf(tenantId, id);
  const requestedBy = email ?? userId;
  const { config, temporal } = c.get('deps');

  // A keyed retry of a request that committed: its workflow started before the commit.
  const already = await findRollback(c, tenantId, id);
  if (already) {
    await keyed?.remember(already);
    return already;
  }
  const write = auditedWrite(c, async (db) => {
    const plan = await choose(db, tenantId, body);
    const freezeOverride = await clearRollback(db, tenantId, plan, principalOf(c), body.reason);
    const { rows } = await db.query(
      `INSERT INTO rollbacks (tenant_id, id, environment_id, release_id, from_release_id, job_id, reason, requested_by, freeze_override)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [tenantId, id, body.environmentId, plan.release.id, plan.fromReleaseId, jobId, body.reason, requestedBy, freezeOverride && JSON.stringify(freezeOverride)],
    );
    const created = present(rows[0]);
    const input: DeploymentJobInput = {
      tenantId,
      jobId,
      kind: 'rollback',
      rollbackId: id,
      environmentId: body.environmentId,
      releaseId: plan.release.id,
      requestedBy,
      reason: withOverride(body.reason, freezeOverride),
      labelSelector: body.labels && Object.keys(body.labels).length ? body.labels : undefined,
      settings: deploymentSettings(config),
    };
    const client = await temporal.client();
    try {
      await withinCommandTimeout(c, client, () =>
        client.workflow.start(DEPLOYMENT_JOB_WORKFLOW_TYPE, {
          workflowId: workflowId(tenantId, 'deployment', jobId),
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          args: [input],
          // A job that already ran for this rollback is never run again.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: searchAttributesOf(
            tenantId,
            jobId,
            { status: 'queued', environmentName: plan.environment.name, releaseName: plan.release.name },
            deploymentTitle({ kind: 'rollback', releaseName: plan.release.name, environmentName: plan.environment.name }),
          ),
          staticSummary: `rollback: ${plan.release.name} → ${plan.environment.name}`,
          staticDetails: `Rollback ${id} requested by ${requestedBy}: ${withOverride(body.reason, freezeOverride)}`,
        }),
      );
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { result: created, audit: { action: 'rollback.create', resourceType: 'rollback', resourceId: id, after: created } };
  });
  const rollback = await write.catch(async (err) => {
    // Two retries of one keyed request at once: the second meets the first's row.
    const first = keyed && err instanceof Conflict && err.code === 'ALREADY_EXISTS' ? await findRollback(c, tenantId, id) : undefined;
    if (first) return first;
    throw err;
  });
  await keyed?.remember(rollback);
  return rollback;
}

/** The environment, the release it goes back to, and the one it runs now. */
async function choose(db: PoolClient, tenantId: string, body: CreateRollbackInput) {
  const environment = (await db.query<{ id: string; name: string }>('SELECT id, name FROM environments WHERE tenant_id = $1 AND id = $2', [tenantId, body.environmentId])).rows[0];
  if (!environment) throw new NotFound(`Environment ${body.environmentId} not found`, 'ENVIRONMENT_NOT_FOUND');
  const current = (
    await db.query<{ release_id: string; deployed_at: Date }>(
      `SELECT release_id, deployed_at FROM release_deployments WHERE tenant_id = $1 AND environment_id = $2 AND status = 'deployed'
        ORDER BY deployed_at DESC LIMIT 1`,
      [tenantId, body.environmentId],
    )
  ).rows[0];
  let releaseId = body.releaseId;
  if (releaseId === undefined) {
    // The newest release deployed there before the current one, and not the current one again.
    const previous = current
      ? (
          await db.query<{ release_id: string }>(
            `SELECT release_id FROM release_deployments
              WHERE tenant_id = $1 AND environment_id = $2 AND status = 'deployed' AND release_id <> $3 AND deployed_at < $4
              ORDER BY deployed_at DESC LIMIT 1`,
            [tenantId, body.environmentId, current.release_id, current.deployed_at],
          )
        ).rows[0]
      : undefined;
    if (!previous) {
      throw new Unprocessable(
        current
          ? `No release was deployed to ${environment.name} before its current one; name the release to go back to`
          : `Nothing has been deployed to ${environment.name} yet; there is nothing to roll back`,
        'NO_PREVIOUS_RELEASE',
        { environmentId: environment.id, currentReleaseId: current?.release_id ?? null },
      );
    }
    releaseId = previous.release_id;
  }
  const release = (await db.query<{ id: string; name: string }>('SELECT id, name FROM releases WHERE tenant_id = $1 AND id = $2', [tenantId, releaseId])).rows[0];
  if (!release) throw new NotFound(`Release ${releaseId} not found`, 'RELEASE_NOT_FOUND');
  return { environment, release, fromReleaseId: current?.release_id ?? null };
}

/**
 * The check every deploying path runs (domain/promotions/clearance.ts) on the inputs the gates read: a rollback
 * returns only to a release the environment ran before, and during a freeze needs deployment:override-freeze.
 * Inside the rollback's transaction, so the row and the job start only on what was checked.
 */
async function clearRollback(db: PoolClient, tenantId: string, plan: Awaited<ReturnType<typeof choose>>, principal: Principal, reason: string): Promise<FreezeOverride | null> {
  const now = new Date().toISOString();
  const loaded = await loadGateInputs(db, { tenantId, releaseId: plan.release.id, targetEnvironmentId: plan.environment.id, now });
  if (!loaded.ok) throw loaded.missing === 'release' ? new NotFound(`Release ${plan.release.id} not found`, 'RELEASE_NOT_FOUND') : new NotFound(`Environment ${plan.environment.id} not found`, 'ENVIRONMENT_NOT_FOUND');
  const clearance = clearDeployment(loaded.inputs, { kind: 'rollback', actor: principal, reason }, now);
  if (clearance.outcome === 'refuse') throw clearance.error;
  if (clearance.outcome !== 'clear') throw new Error(`a rollback cannot be ${clearance.outcome}`);
  return clearance.freezeOverride;
}

export async function findRollback(c: Context<AppEnv>, tenantId: string, id: string): Promise<Rollback | undefined> {
  const { rows } = await c.get('deps').pool.query(`SELECT ${COLUMNS} FROM rollbacks WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] && present(rows[0]);
}

export async function listRollbacks(c: Context<AppEnv>, tenantId: string, filters: { environmentId?: string }, request: PageRequest): Promise<Page<Rollback>> {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  if (filters.environmentId) {
    params.push(filters.environmentId);
    where.push(`environment_id = $${params.length}`);
  }
  return listPage(
    c.get('deps').pool,
    { from: 'rollbacks', select: COLUMNS, where, params, sortColumns: { created_at: { column: 'created_at', cast: 'timestamptz' } }, idColumn: 'id::text' },
    request,
    present,
  );
}

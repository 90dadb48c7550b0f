import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Context } from 'hono';
import type { CreateAuditReportInput } from '../../../domain/evidence/requests';
import { runStanding } from '../../../platform/workflow-endings';
import { findAuditReport, insertAuditReport, writeAuditReportStep, type AuditReportRow } from '../../../store/audit-reports';
import { AUDIT_REPORT_WORKFLOW_TYPE, auditReportSearchAttributesOf, auditReportWorkflowId, type AuditReportInput } from '../../../workflows/audit-report-messages';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { NotFound } from '../../errors';
import { useIdempotencyKey } from '../../idempotency';
import { principalOf } from '../../principal';

const SCOPE = 'audit-report';

/**
 * Records the report (queued, with an audit entry) and starts its workflow. A
 * keyed retry reaches the first request's report and its workflow, never a
 * second one.
 */
export async function requestAuditReport(c: Context<AppEnv>, body: CreateAuditReportInput): Promise<string> {
  const { pool, temporal, config } = c.get('deps');
  const p = principalOf(c);
  const { scope } = body;
  const environments = await pool.query<{ id: string }>('SELECT id FROM environments WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [p.tenantId, scope.environmentIds]);
  const known = new Set(environments.rows.map((r) => r.id));
  const unknown = scope.environmentIds.filter((id) => !known.has(id.toLowerCase()));
  if (unknown.length) throw new NotFound(`Environment ${unknown.join(', ')} not found`, 'ENVIRONMENT_NOT_FOUND');
  if (scope.releaseId) {
    const release = await pool.query('SELECT 1 FROM releases WHERE tenant_id = $1 AND id = $2', [p.tenantId, scope.releaseId]);
    if (!release.rowCount) throw new NotFound(`Release ${scope.releaseId} not found`, 'RELEASE_NOT_FOUND');
  }
  const key = await useIdempotencyKey(c, { scope: SCOPE, operation: 'create', body }, async () => randomUUID());
  const id = key?.resource ?? randomUUID();
  const requestedBy = p.email ?? p.userId;
  await auditedWrite(c, async (db) => {
    const inserted = await insertAuditReport(db, p.tenantId, id, scope, requestedBy);
    return { result: inserted, audit: { action: inserted ? 'create' : 'create_retried', resourceType: 'audit_report', resourceId: id, after: { scope } } };
  });
  const client = await temporal.client();
  const input: AuditReportInput = { tenantId: p.tenantId, reportId: id };
  await client.workflow
    .start(AUDIT_REPORT_WORKFLOW_TYPE, {
      workflowId: auditReportWorkflowId(p.tenantId, id),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: auditReportSearchAttributesOf(p.tenantId, id, 'queued', scope.releaseId ?? null),
      staticSummary: `Audit report of ${scope.environmentIds.length} environment(s), ${scope.from} to ${scope.to}, for ${requestedBy}`,
    })
    .catch((err) => {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw err;
    });
  return id;
}

/**
 * A report still on its way whose workflow was ended outside Tollgate (Cancel
 * or Terminate in the Temporal UI, a timeout) is marked failed when read, with
 * how, by whom and why: nothing else would ever finish it.
 */
export async function settledReport(c: Context<AppEnv>, tenantId: string, row: AuditReportRow): Promise<AuditReportRow> {
  if (row.status === 'ready' || row.status === 'failed') return row;
  const { pool, temporal } = c.get('deps');
  const run = await runStanding(await temporal.client(), auditReportWorkflowId(tenantId, row.id));
  if (run.standing !== 'ended') return row;
  const { how, by, reason } = run.ending;
  await writeAuditReportStep(pool, tenantId, row.id, { status: 'failed', progress: { ...row.progress, step: 'failed' }, error: `Its workflow was ${how} outside Tollgate by ${by}${reason ? `: ${reason}` : ''}` });
  return (await findAuditReport(pool, tenantId, row.id)) ?? row;
}

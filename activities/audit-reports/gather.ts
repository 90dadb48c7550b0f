import { MAX_REPORT_PROMOTIONS, REPORT_TITLE, type AuditReportDocument, type ReportChange, type ReportIncident, type ReportJob, type ReportPromotion } from '../../domain/evidence/model';
import { summaryOf } from '../../domain/evidence/findings';
import type { AuditReportScope } from '../../domain/evidence/requests';
import { evidenceDecisionOf } from '../../domain/promotions/evidence-decision';
import type { Promotion } from '../../domain/promotions/model';
import type { Pool } from '../../platform/db';

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/**
 * Everything in a report's scope: the promotions into its environments
 * requested in its period (of its release, when it names one) with their gates
 * and approvals, the deployment jobs run there then or for those promotions,
 * the changes the promotions name and the incidents raised against those
 * changes. Evidence is left to the verify step.
 */
export async function gatherRecords(pool: Pool, tenantId: string, reportId: string, scope: AuditReportScope, generatedAt: string): Promise<AuditReportDocument> {
  const releaseId = scope.releaseId ?? null;
  const environments = await pool.query<{ id: string; name: string }>('SELECT id, name FROM environments WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [tenantId, scope.environmentIds]);
  const names = new Map(environments.rows.map((r) => [r.id, r.name]));
  const release = releaseId ? (await pool.query<{ name: string }>('SELECT name FROM releases WHERE tenant_id = $1 AND id = $2', [tenantId, releaseId])).rows[0] : undefined;

  const found = await pool.query<{ body: Promotion }>(
    `SELECT body FROM promotions
      WHERE tenant_id = $1 AND target_environment_id = ANY($2::uuid[]) AND requested_at >= $3 AND requested_at < $4 AND ($5::uuid IS NULL OR release_id = $5)
      ORDER BY requested_at, id LIMIT $6`,
    [tenantId, scope.environmentIds, scope.from, scope.to, releaseId, MAX_REPORT_PROMOTIONS + 1],
  );
  const promotions = found.rows.slice(0, MAX_REPORT_PROMOTIONS).map((r) => reportPromotion(r.body));
  const promotionIds = promotions.map((p) => p.id);

  const jobs = await pool.query<{ id: string; kind: string; promotion_id: string | null; environment_id: string; release_id: string; status: string; created_at: Date; updated_at: Date }>(
    `SELECT id, kind, promotion_id, environment_id, release_id, status, created_at, updated_at FROM deployment_jobs
      WHERE tenant_id = $1 AND ((environment_id = ANY($2::uuid[]) AND created_at >= $3 AND created_at < $4 AND ($5::uuid IS NULL OR release_id = $5)) OR promotion_id = ANY($6::uuid[]))
      ORDER BY created_at, id`,
    [tenantId, scope.environmentIds, scope.from, scope.to, releaseId, promotionIds],
  );
  const deploymentJobs: ReportJob[] = jobs.rows.map((j) => ({
    id: j.id,
    kind: j.kind,
    promotionId: j.promotion_id,
    environmentId: j.environment_id,
    releaseId: j.release_id,
    status: j.status,
    createdAt: iso(j.created_at)!,
    updatedAt: iso(j.updated_at)!,
  }));

  const changeIds = [...new Set(promotions.map((p) => p.changeId).filter((id): id is string => id !== null))];
  const changeRows = await pool.query<{ id: string; type: string; state: string; short_description: string; risk_level: string }>(
    'SELECT id, type, state, short_description, risk_level FROM changes WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id',
    [tenantId, changeIds],
  );
  const changes: ReportChange[] = changeRows.rows.map((c) => ({ id: c.id, type: c.type, state: c.state, shortDescription: c.short_description, riskLevel: c.risk_level }));
  const incidentRows = await pool.query<{ id: string; change_id: string | null; short_description: string; priority: string; state: string; created_at: Date }>(
    `SELECT id, change_id, short_description, priority, state, created_at FROM incidents
      WHERE tenant_id = $1 AND change_id = ANY($2::text[]) AND deleted_at IS NULL ORDER BY created_at, id`,
    [tenantId, changeIds],
  );
  const incidents: ReportIncident[] = incidentRows.rows.map((i) => ({
    id: i.id,
    changeId: i.change_id,
    shortDescription: i.short_description,
    priority: i.priority,
    state: i.state,
    createdAt: iso(i.created_at)!,
  }));

  const gathered = { promotions, deploymentJobs, changes, incidents };
  return {
    title: REPORT_TITLE,
    reportId,
    tenantId,
    scope: {
      environments: scope.environmentIds.map((id) => ({ id, name: names.get(id.toLowerCase()) ?? null })),
      from: scope.from,
      to: scope.to,
      release: releaseId ? { id: releaseId, name: release?.name ?? null } : null,
    },
    generatedAt,
    truncated: found.rows.length > MAX_REPORT_PROMOTIONS,
    ...gathered,
    findings: [],
    summary: summaryOf(gathered),
  };
}

function reportPromotion(p: Promotion): ReportPromotion {
  return {
    id: p.id,
    releaseId: p.releaseId,
    releaseName: p.releaseName,
    targetEnvironmentId: p.targetEnvironmentId,
    targetEnvironmentName: p.targetEnvironmentName,
    status: p.status,
    requestedBy: p.requestedBy,
    requestedAt: p.requestedAt,
    decidedAt: p.decidedAt,
    changeId: p.changeId,
    gates: p.gates.map((g) => ({ gateName: g.gateName, passed: g.passed, blocking: g.blocking, message: g.message })),
    approvals: p.approvals.map((a) => ({ approverId: a.approverId, decision: a.decision, comment: a.comment ?? null, approvedAt: a.approvedAt, invalidated: Boolean(a.invalidated) })),
    expectedDecision: evidenceDecisionOf(p) ?? null,
    evidence: [],
  };
}

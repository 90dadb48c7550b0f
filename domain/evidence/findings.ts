import type { AuditReportDocument, EvidenceFinding, ReportEvidence, ReportPromotion, ReportSummary } from './model';

/**
 * The rules that turn a promotion's packets and their verification into what
 * the report flags: every packet that does not verify, and a finished
 * promotion whose decision has no packet at all.
 */

export interface CheckedPacket {
  packetId: string;
  decision: string;
  generatedAt: string;
  signerKeyRef: string | null;
  valid: boolean;
  reason: string | null;
}

/** A promotion's evidence entries: each packet as verified, and the expected decision's packet when it is absent. */
export function evidenceOf(promotion: Pick<ReportPromotion, 'expectedDecision'>, packets: CheckedPacket[]): ReportEvidence[] {
  const entries: ReportEvidence[] = packets.map((p) => ({
    packetId: p.packetId,
    decision: p.decision,
    generatedAt: p.generatedAt,
    signerKeyRef: p.signerKeyRef,
    verdict: p.valid ? 'valid' : 'invalid',
    reason: p.valid ? null : (p.reason ?? 'does not verify'),
  }));
  const expected = promotion.expectedDecision;
  if (expected && !packets.some((p) => p.decision === expected)) {
    entries.push({ packetId: null, decision: expected, generatedAt: null, signerKeyRef: null, verdict: 'missing', reason: `no signed packet records its ${expected} decision` });
  }
  return entries;
}

export function findingsOf(promotions: ReportPromotion[]): EvidenceFinding[] {
  return promotions.flatMap((p) =>
    p.evidence
      .filter((e) => e.verdict !== 'valid')
      .map((e) => ({ promotionId: p.id, releaseName: p.releaseName, packetId: e.packetId, decision: e.decision, verdict: e.verdict as EvidenceFinding['verdict'], reason: e.reason ?? '' })),
  );
}

export function summaryOf(report: Pick<AuditReportDocument, 'promotions' | 'deploymentJobs' | 'changes' | 'incidents'>): ReportSummary {
  const evidence = report.promotions.flatMap((p) => p.evidence);
  return {
    promotions: report.promotions.length,
    approvals: report.promotions.reduce((n, p) => n + p.approvals.length, 0),
    failedGates: report.promotions.reduce((n, p) => n + p.gates.filter((g) => !g.passed).length, 0),
    deploymentJobs: report.deploymentJobs.length,
    changes: report.changes.length,
    incidents: report.incidents.length,
    packets: evidence.filter((e) => e.packetId !== null).length,
    packetsVerified: evidence.filter((e) => e.verdict === 'valid').length,
    packetsFailed: evidence.filter((e) => e.verdict === 'invalid').length,
    packetsMissing: evidence.filter((e) => e.verdict === 'missing').length,
  };
}

/** What the report's table says of a promotion's evidence, in one cell. */
export function evidenceCell(p: Pick<ReportPromotion, 'evidence'>): string {
  if (p.evidence.some((e) => e.verdict === 'invalid')) return 'SIGNATURE FAILED';
  if (p.evidence.some((e) => e.verdict === 'missing')) return 'MISSING';
  if (p.evidence.length === 0) return 'none yet';
  return 'verified';
}

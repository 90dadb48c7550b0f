import type { JWK } from 'jose';
import { evidenceOf, findingsOf, summaryOf, type CheckedPacket } from '../../domain/evidence/findings';
import type { AuditReportDocument } from '../../domain/evidence/model';
import type { Pool } from '../../platform/db';
import { verifyEvidence, type EvidencePacket } from '../../platform/evidence';

/**
 * Every packet of the report's promotions checked again against the published
 * key, whatever the row beside it claims: a packet edited in the database
 * fails here, and a finished promotion with no packet for its decision is
 * flagged missing.
 */
export async function verifyReportEvidence(pool: Pool, tenantId: string, report: AuditReportDocument, jwks: { keys: JWK[] }): Promise<AuditReportDocument> {
  const ids = report.promotions.map((p) => p.id);
  const { rows } = await pool.query<{ id: string; promotion_id: string; decision: string; packet: EvidencePacket; generated_at: Date }>(
    'SELECT id, promotion_id, decision, packet, generated_at FROM evidence_packets WHERE tenant_id = $1 AND promotion_id = ANY($2::uuid[]) ORDER BY generated_at, id',
    [tenantId, ids],
  );
  const byPromotion = new Map<string, CheckedPacket[]>();
  for (const row of rows) {
    const outcome = await verifyEvidence(row.packet, jwks);
    const checked: CheckedPacket = {
      packetId: row.id,
      decision: row.decision,
      generatedAt: new Date(row.generated_at).toISOString(),
      signerKeyRef: typeof row.packet?.signerKeyRef === 'string' ? row.packet.signerKeyRef : null,
      valid: outcome.valid,
      reason: outcome.valid ? null : outcome.reason,
    };
    byPromotion.set(row.promotion_id, [...(byPromotion.get(row.promotion_id) ?? []), checked]);
  }
  const promotions = report.promotions.map((p) => ({ ...p, evidence: evidenceOf(p, byPromotion.get(p.id) ?? []) }));
  const checked = { ...report, promotions };
  return { ...checked, findings: findingsOf(promotions), summary: summaryOf(checked) };
}

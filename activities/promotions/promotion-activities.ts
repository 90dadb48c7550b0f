import { ApplicationFailure } from '@temporalio/common';
import type { Actor } from '../../domain/actor';
import type { EntityEvent } from '../../domain/draft';
import type { GateInputs, Promotion } from '../../domain/promotions/model';
import { recordEntityEvents } from '../../platform/audit';
import { withTransaction } from '../../platform/db';
import { createEvidenceSigner, readEvidenceKey, type EvidencePacket, type EvidenceSigner } from '../../platform/evidence';
import { nameUuid } from '../../platform/name-uuid';
import { loadGateInputs, type GateInputsRequest } from '../../store/gate-inputs';
import { httpGateChecker } from '../integrations/http-gate';
import type { ActivityDeps } from '../deps';
import { evidenceDecisionOf } from '../../domain/promotions/evidence-decision';
import { decisionRecord } from './evidence-content';

export interface PersistPromotionInput {
  tenantId: string;
  promotion: Promotion;
  events: EntityEvent[];
  actor: Actor;
  requestId?: string;
  /** The commit moved the status: its decision's evidence packet is written with the row, so no reader sees one without the other. */
  decided?: boolean;
}

/**
 * The promotion's side effects. Each is idempotent: the read-model row is
 * version-guarded, and audit rows and evidence packets carry dedupe keys (and
 * are written in the row's transaction). What a deployment records is the
 * deploymentJob's (activities/deployments).
 */
export function promotionActivities(deps: ActivityDeps) {
  let signer: Promise<EvidenceSigner> | undefined;
  const evidenceSigner = () => (signer ??= createEvidenceSigner(readEvidenceKey(deps.config)));

  /**
   * The signed packet of the decision a status records (none for statuses that decide nothing, e.g. deploying). Its id
   * is stable per decision and version, so a retry writes it once, and a promotion approved again after its approvals
   * were invalidated keeps both approved packets.
   */
  async function evidencePacket(tenantId: string, p: Promotion): Promise<EvidencePacket | null> {
    const decision = evidenceDecisionOf(p);
    if (!decision) return null;
    return (await evidenceSigner()).sign({
      id: nameUuid(`evidence:${tenantId}:${p.id}:${decision}:v${p.version}`),
      type: 'release_decision',
      content: decisionRecord(tenantId, p, decision),
      generatedAt: p.updatedAt,
    });
  }

  return {
    async loadPromotionInputs(request: GateInputsRequest): Promise<GateInputs> {
      // The policy's http gates are called here, their secrets opened here: only what they answered enters the history.
      const result = await loadGateInputs(deps.pool, request, httpGateChecker(deps));
      if (result.ok) return result.inputs;
      const what = result.missing === 'release' ? `Release ${request.releaseId}` : `Environment ${request.targetEnvironmentId}`;
      throw ApplicationFailure.create({
        type: result.missing === 'release' ? 'RELEASE_NOT_FOUND' : 'ENVIRONMENT_NOT_FOUND',
        message: `${what} not found`,
        nonRetryable: true,
        details: [{ kind: 'not_found' }],
      });
    },

    async persistPromotion(input: PersistPromotionInput): Promise<{ written: boolean; evidence: { id: string; decision: string } | null }> {
      const { tenantId, promotion: p } = input;
      const packet = input.decided ? await evidencePacket(tenantId, p) : null;
      return withTransaction(deps.pool, async (db) => {
        const row = await db.query(
          `INSERT INTO promotions (tenant_id, id, version, release_id, target_environment_id, status, requested_by, approver_groups, requested_at, updated_at, body)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
           ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,
             approver_groups = EXCLUDED.approver_groups, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body
           WHERE promotions.version < EXCLUDED.version`,
          [tenantId, p.id, p.version, p.releaseId, p.targetEnvironmentId, p.status, p.requestedBy, p.policy.approverGroups.map((g) => g.toLowerCase()), p.requestedAt, p.updatedAt, JSON.stringify(p)],
        );
        const written = (row.rowCount ?? 0) > 0;
        await recordEntityEvents(db, {
          tenantId,
          resourceType: 'promotion',
          resourceId: p.id,
          versionTag: `v${p.version}`,
          events: input.events,
          actor: input.actor,
          requestId: input.requestId,
          occurredAt: p.updatedAt,
        });
        if (packet) {
          await db.query(
            `INSERT INTO evidence_packets (tenant_id, id, promotion_id, decision, packet, content_hash, signer_kid, generated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
            [tenantId, packet.id, p.id, packet.content.decision, JSON.stringify(packet), packet.contentHash, packet.signerKeyRef, packet.generatedAt],
          );
        }
        return { written, evidence: packet ? { id: packet.id, decision: String(packet.content.decision) } : null };
      });
    },
  };
}

export type PromotionActivities = ReturnType<typeof promotionActivities>;

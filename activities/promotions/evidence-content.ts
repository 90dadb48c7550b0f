import type { Promotion } from '../../domain/promotions/model';

/** The decision record a packet signs: what was decided, on which inputs, by whom, under which policy. */
export function decisionRecord(tenantId: string, p: Promotion, decision: string): Record<string, unknown> {
  return {
    tenantId,
    promotionId: p.id,
    decision,
    status: p.status,
    statusReason: p.statusReason,
    decidedAt: p.decidedAt,
    recordedAt: p.updatedAt,
    reason: p.reason,
    requestedBy: p.requestedBy,
    requestedByEmail: p.requestedByEmail,
    requestedAt: p.requestedAt,
    release: {
      id: p.releaseId,
      name: p.releaseName,
      class: p.gateInputs.release.class,
      components: p.gateInputs.release.components,
    },
    sourceEnvironment: p.sourceEnvironmentId ? { id: p.sourceEnvironmentId, name: p.sourceEnvironmentName } : null,
    targetEnvironment: { id: p.targetEnvironmentId, name: p.targetEnvironmentName },
    changeId: p.changeId,
    policy: p.policy,
    gateInputs: {
      securityScan: p.gateInputs.release.securityScan,
      securityThresholds: p.gateInputs.environment.securityThresholds,
      freeze: p.gateInputs.freeze,
      previousEnvironment: p.gateInputs.previousEnvironment,
      // The pipeline whose order was gated (absent in promotions from before pipelines, which followed the tenant's order).
      pipeline: p.gateInputs.pipeline ?? null,
      changeRequest: p.gateInputs.changeRequest,
      // What the agents run, as approved: each hook's command and its digest (absent in promotions from before hooks were bound).
      deployHooks: p.gateInputs.deployHooks ?? null,
    },
    gates: p.gates,
    approvals: p.approvals.map((a) => ({
      approverId: a.approverId,
      approverName: a.approverName,
      approverEmail: a.approverEmail,
      decision: a.decision,
      comment: a.comment,
      approvedAt: a.approvedAt,
      binding: a.binding,
      invalidated: a.invalidated,
    })),
    approvalCount: p.approvalCount,
    requiredApprovals: p.requiredApprovals,
  };
}

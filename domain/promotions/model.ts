import type { CelGate } from './cel-gates';
import type { FreezeSpan } from './freeze';
import type { HttpGate, HttpGateCheck } from './gates-http';
import type { PipelineRef } from './pipelines';
import type { PROMOTION_STATUSES } from './statuses';

/** A promotion as the API serves it (spec: stella-promotions-api) and the workflow keeps it. */
export type PromotionStatus = (typeof PROMOTION_STATUSES)[number];

export const GATE_NAMES = [
  'security-gate',
  'freeze-window-gate',
  'approval-gate',
  'separation-of-duties-gate',
  'promotion-order-gate',
  'change-request-gate',
  /** An approval policy's own gate (a CEL expression); `details.name` says which. */
  'cel-gate',
  /** An approval policy's external check (an http-gate integration); `details.name` says which. */
  'http-gate',
] as const;
export type GateName = (typeof GATE_NAMES)[number];

export interface GateResult {
  gateName: GateName;
  passed: boolean;
  /** A failed blocking gate stops the promotion; a failed non-blocking one only holds it (approvals pending, a freeze). */
  blocking: boolean;
  /** What the gate found and, when it failed, what would unblock it. */
  message: string;
  details: Record<string, unknown>;
}

export interface ReleaseComponentRef {
  componentId: string;
  name: string;
  version: string;
  digest: string | null;
}

export interface SecurityScan {
  criticalCount: number;
  highCount: number;
}

export interface SecurityThresholds {
  maxCritical: number;
  maxHigh: number;
}

/** The policy in force for the target environment: an approval policy's version, or the environment's defaults. */
export interface EffectivePolicy {
  policyId: string | null;
  policyVersion: number;
  name: string;
  requiredApprovals: number;
  approverGroups: string[];
  requireSeparationOfDuties: boolean;
  autoExpireHours: number | null;
  /** The policy's CEL gates; absent when it has none (and in inputs loaded before policies could carry them). */
  celGates?: CelGate[];
  /** The policy's http gates; absent when it has none (and in inputs loaded before policies could carry them). */
  httpGates?: HttpGate[];
}

/** A deploy hook as it stands: the command an agent runs, and the sha256 of its text (`sha256:<hex>`). */
export interface DeployHookRef {
  command: string;
  digest: string;
}

/** What runs on the targets: each component's own hook and the environment's fallback (null: none set). */
export interface DeployHooks {
  environment: DeployHookRef | null;
  components: Array<{ componentId: string; name: string; hook: DeployHookRef | null }>;
}

/** Everything the gates read; approvals are bound to a fingerprint of it. */
export interface GateInputs {
  release: { id: string; name: string; class: string; deprecated: boolean; securityScan: SecurityScan | null; components: ReleaseComponentRef[] };
  environment: {
    id: string;
    name: string;
    order: number;
    securityThresholds: SecurityThresholds | null;
    requireChangeRequest: boolean;
    /** Whether a deployment of this release to this environment ever finished `deployed` (absent in inputs loaded before it was recorded). */
    releaseDeployed?: boolean;
  };
  /** The environment before the target in the release's pipeline (null: the target is first, or not in it). */
  previousEnvironment: { id: string; name: string; releaseDeployed: boolean } | null;
  /**
   * The pipeline the order gate reads: the one the release's components name, or the default (the tenant's
   * environment order). Absent in inputs loaded before pipelines existed, which followed the tenant's order.
   */
  pipeline?: GatePipeline;
  policy: EffectivePolicy;
  freeze: { active: FreezeSpan | null; next: FreezeSpan | null };
  changeRequest: { id: string; state: string; scheduled_start: string | null; scheduled_end: string | null } | null;
  changeId: string | null;
  /** Absent in inputs loaded before hooks were part of what is approved. */
  deployHooks?: DeployHooks;
  /** What each of the policy's http gates answered when these inputs were gathered; absent when it has none. */
  httpGateChecks?: HttpGateCheck[];
}

export interface GatePipeline extends PipelineRef {
  /** Set when the release's components name different pipelines: their names (the default as `default`); no order applies then. */
  splitBetween?: string[];
}

export interface Approval {
  approverId: string;
  approverName: string | null;
  approverEmail: string | null;
  decision: 'approved' | 'rejected';
  comment: string | null;
  approvedAt: string;
  /** The fingerprint of what was approved: release digests, gate inputs, policy version. */
  binding: ApprovalBinding;
  /** Set when what was approved changed while the promotion waited; such an approval no longer counts. */
  invalidated: { at: string; reasons: string[] } | null;
}

export interface ApprovalBinding {
  digests: Record<string, string | null>;
  securityScan: SecurityScan | null;
  securityThresholds: SecurityThresholds | null;
  policyId: string | null;
  policyVersion: number;
  /**
   * Digest of each deploy hook, by `environment` and `component:<name>` (null: none set). Absent in approvals given
   * before hooks were bound; such an approval is not invalidated by a hook it was never bound to.
   */
  hooks?: Record<string, string | null>;
}

export interface Promotion {
  id: string;
  releaseId: string;
  releaseName: string;
  sourceEnvironmentId: string | null;
  sourceEnvironmentName: string | null;
  targetEnvironmentId: string;
  targetEnvironmentName: string;
  status: PromotionStatus;
  requestedBy: string;
  requestedByEmail: string | null;
  requestedAt: string;
  reason: string;
  changeId: string | null;
  approvals: Approval[];
  approvalCount: number;
  requiredApprovals: number;
  policy: EffectivePolicy;
  gateInputs: GateInputs;
  gates: GateResult[];
  /** When approval expires (the policy's autoExpireHours after the request, see PromotionSettings), or null. */
  expiresAt: string | null;
  /** Set while approved but held by a freeze window. */
  heldUntil: string | null;
  decidedAt: string | null;
  decision: 'allow' | 'deny' | null;
  /** Why it ended when that is not obvious from the status (e.g. approval_expired). */
  statusReason: string | null;
  completedAt: string | null;
  updatedAt: string;
  version: number;
}

/** Deployment-wide settings the workflow is started with (platform/config.ts). */
export interface PromotionSettings {
  /**
   * How long one hour of a policy's `autoExpireHours` lasts (PROMOTION_EXPIRY_HOUR):
   * an hour in production; tests and demos shorten it to seconds to watch expiry happen.
   */
  expiryHourMs: number;
  /**
   * The timeouts and caps the promotion's deployment job runs with (the shape of
   * deployments' DeploymentSettings, spelled out since modules never import each
   * other); absent in promotions started before jobs existed, where defaults apply.
   */
  deployment?: {
    heartbeatTimeoutMs: number;
    pickupTimeoutMs: number;
    taskTimeoutMs: number;
    cancelGraceMs: number;
    logCapBytes: number;
  };
}

export const DEFAULT_PROMOTION_SETTINGS: PromotionSettings = { expiryHourMs: 3_600_000 };

import { z } from '@hono/zod-openapi';
import { GATE_NAMES } from '../../../domain/promotions/model';
import { securityScanSchema, securityThresholdsSchema } from '../../../domain/promotions/requests';

const CelGateSchema = z.object({ name: z.string(), expression: z.string(), message: z.string() }).openapi('CelGate');
const HttpGateSchema = z
  .object({
    name: z.string(),
    integrationId: z.string().optional().openapi({ description: 'The http-gate integration called (absent: the gate names a plugin instance)' }),
    pluginInstanceId: z.string().optional().openapi({ description: 'The instance of an http-gate plugin whose check is called (absent: the gate names an integration)' }),
    message: z.string().nullable(),
    blocking: z.boolean(),
  })
  .openapi('HttpGate', { description: 'An external check: an http-gate integration that must answer one of its expected statuses, or a plugin instance whose check must answer ok' });
const HttpGateCheckSchema = z
  .object({
    name: z.string(),
    integrationId: z.string().optional(),
    pluginInstanceId: z.string().optional(),
    pluginId: z.string().nullable().optional().openapi({ description: 'A plugin gate’s plugin (null: its instance was not found)' }),
    integrationName: z.string().nullable().openapi({ description: 'The integration’s or plugin instance’s name' }),
    passed: z.boolean(),
    status: z.number().int().nullable().openapi({ description: 'What the service answered (null: no answer)' }),
    reason: z.string().nullable().openapi({ description: 'Why it did not pass' }),
    checkedAt: z.string(),
    details: z.record(z.string(), z.unknown()).optional().openapi({ description: 'What a plugin’s check answered besides ok and reason' }),
  })
  .openapi('HttpGateCheck');
import { PROMOTION_STATUSES } from '../../../domain/promotions/statuses';
import { ChangeSchema } from '../changes';
import { PendingRunStepSchema } from '../workflow-runs';

/** What the promotion, approval-policy and evidence routes answer (Stella: camelCase). */

const FreezeSpan = z.object({ windowId: z.string(), name: z.string(), reason: z.string().nullable(), start: z.string(), end: z.string() });

export const GateResultSchema = z
  .object({
    gateName: z.enum(GATE_NAMES),
    passed: z.boolean(),
    blocking: z.boolean(),
    message: z.string().openapi({ description: 'What the gate found and, when it failed, what would unblock it' }),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('GateResult');

const Binding = z.object({
  digests: z.record(z.string(), z.string().nullable()),
  securityScan: securityScanSchema.nullable(),
  securityThresholds: securityThresholdsSchema.nullable(),
  policyId: z.string().nullable(),
  policyVersion: z.number().int(),
  hooks: z
    .record(z.string(), z.string().nullable())
    .optional()
    .openapi({ description: 'sha256 of each deploy hook by `environment` and `component:<name>` (null: none); absent in approvals given before hooks were bound' }),
});

export const ApprovalSchema = z
  .object({
    approverId: z.string(),
    approverName: z.string().nullable(),
    approverEmail: z.string().nullable(),
    decision: z.enum(['approved', 'rejected']),
    comment: z.string().nullable(),
    approvedAt: z.string(),
    binding: Binding.openapi({ description: 'What was approved: component digests, scan and thresholds, policy version, deploy hooks' }),
    invalidated: z
      .object({ at: z.string(), reasons: z.array(z.string()) })
      .nullable()
      .openapi({ description: 'Set when what was approved changed while the promotion waited; the approval no longer counts' }),
  })
  .openapi('Approval');

export const EffectivePolicySchema = z
  .object({
    policyId: z.string().nullable(),
    policyVersion: z.number().int(),
    name: z.string(),
    requiredApprovals: z.number().int(),
    approverGroups: z.array(z.string()),
    requireSeparationOfDuties: z.boolean(),
    autoExpireHours: z.number().int().nullable(),
    celGates: z.array(CelGateSchema).optional().openapi({ description: 'The policy’s CEL gates (absent: none)' }),
    httpGates: z.array(HttpGateSchema).optional().openapi({ description: 'The policy’s http gates (absent: none)' }),
  })
  .openapi('EffectivePolicy');

const ComponentRef = z.object({ componentId: z.string(), name: z.string(), version: z.string(), digest: z.string().nullable() });

const DeployHookRef = z.object({ command: z.string(), digest: z.string() }).openapi('DeployHook');

const PipelineOrderSchema = z
  .object({
    id: z.string().nullable().openapi({ description: 'null: the default pipeline (every environment by `order`)' }),
    name: z.string(),
    environments: z.array(z.object({ id: z.string(), name: z.string() })).openapi({ description: 'In promotion order' }),
    splitBetween: z.array(z.string()).optional().openapi({ description: 'Set when the release’s components are in different pipelines: their names; the order gate refuses then' }),
  })
  .openapi('PipelineOrder');

const GateInputsSchema = z
  .object({
    release: z.object({ id: z.string(), name: z.string(), class: z.string(), deprecated: z.boolean(), securityScan: securityScanSchema.nullable(), components: z.array(ComponentRef) }),
    environment: z.object({
      id: z.string(),
      name: z.string(),
      order: z.number().int(),
      securityThresholds: securityThresholdsSchema.nullable(),
      requireChangeRequest: z.boolean(),
      releaseDeployed: z.boolean().optional().openapi({ description: 'Whether a deployment of the release to this environment ever finished deployed' }),
    }),
    previousEnvironment: z
      .object({ id: z.string(), name: z.string(), releaseDeployed: z.boolean() })
      .nullable()
      .openapi({ description: 'The environment before the target in the release’s pipeline (null: the target is its first, or not in it)' }),
    pipeline: PipelineOrderSchema.optional().openapi({
      description: 'The pipeline the order gate read: the one the release’s components name, or the default (absent in promotions from before pipelines)',
    }),
    policy: EffectivePolicySchema,
    freeze: z.object({ active: FreezeSpan.nullable(), next: FreezeSpan.nullable() }),
    changeRequest: z.object({ id: z.string(), state: z.string(), scheduled_start: z.string().nullable(), scheduled_end: z.string().nullable() }).nullable(),
    changeId: z.string().nullable(),
    deployHooks: z
      .object({
        environment: DeployHookRef.nullable(),
        components: z.array(z.object({ componentId: z.string(), name: z.string(), hook: DeployHookRef.nullable() })),
      })
      .optional()
      .openapi({ description: 'The commands agents run for the release: each component’s own hook and the environment’s fallback, with their sha256' }),
    httpGateChecks: z
      .array(HttpGateCheckSchema)
      .optional()
      .openapi({ description: 'What each of the policy’s http gates answered when these inputs were gathered (absent: the policy has none)' }),
  })
  .openapi('GateInputs');

export const PromotionSchema = z
  .object({
    id: z.string(),
    releaseId: z.string(),
    releaseName: z.string(),
    sourceEnvironmentId: z.string().nullable(),
    sourceEnvironmentName: z.string().nullable(),
    targetEnvironmentId: z.string(),
    targetEnvironmentName: z.string(),
    status: z.enum(PROMOTION_STATUSES),
    requestedBy: z.string(),
    requestedByEmail: z.string().nullable(),
    requestedAt: z.string(),
    reason: z.string(),
    changeId: z.string().nullable(),
    approvals: z.array(ApprovalSchema),
    approvalCount: z.number().int(),
    requiredApprovals: z.number().int(),
    policy: EffectivePolicySchema,
    gateInputs: GateInputsSchema,
    gates: z.array(GateResultSchema),
    expiresAt: z.string().nullable(),
    heldUntil: z.string().nullable().openapi({ description: 'Approved but held by a freeze window until then' }),
    decidedAt: z.string().nullable(),
    decision: z.enum(['allow', 'deny']).nullable(),
    statusReason: z.string().nullable().openapi({ description: 'Why it ended, e.g. approval_expired or the rejection reason' }),
    completedAt: z.string().nullable(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .openapi('Promotion');

export const DecisionSchema = z
  .object({
    promotionId: z.string(),
    decision: z.enum(['allow', 'deny', 'pending']),
    status: z.enum(PROMOTION_STATUSES),
    decidedAt: z.string().nullable(),
    gates: z.array(GateResultSchema),
    approvals: z.array(ApprovalSchema),
    approvalCount: z.number().int(),
    requiredApprovals: z.number().int(),
    policy: EffectivePolicySchema,
    statusReason: z.string().nullable(),
  })
  .openapi('DecisionRecord');

export const EvidencePacketSchema = z
  .object({
    id: z.string(),
    type: z.literal('release_decision'),
    version: z.enum(['1.0', '1.1']).openapi({ description: '1.1 signs the whole packet (envelope and content); 1.0, issued before, signed its content only' }),
    content: z.record(z.string(), z.unknown()),
    contentHash: z.string(),
    signature: z.string(),
    signatureAlgorithm: z.literal('ECDSA-P256-SHA256'),
    signerKeyRef: z.string(),
    generatedAt: z.string(),
  })
  .openapi('EvidencePacket');

export const PreviewSchema = z
  .object({
    wouldPass: z.boolean(),
    gates: z.array(GateResultSchema),
    pipeline: PipelineOrderSchema.openapi({ description: 'The pipeline whose order the order gate read, its environments in promotion order' }),
  })
  .openapi('GatePreview');

export const ApprovalPolicySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    environmentId: z.string(),
    version: z.number().int(),
    requiredApprovals: z.number().int(),
    approverGroups: z.array(z.string()),
    requireSeparationOfDuties: z.boolean(),
    autoExpireHours: z.number().int().nullable(),
    celGates: z.array(CelGateSchema).openapi({ description: 'Gates of the policy’s own: CEL conditions evaluated with the built-in gates' }),
    httpGates: z.array(HttpGateSchema).openapi({ description: 'External checks: http-gate integrations or http-gate plugin instances called whenever the gates are evaluated' }),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ApprovalPolicy');

export const JwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi('EvidenceJwks');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

const AwaitingSchema = z
  .object({
    approvals: z.number().int().openapi({ description: 'Approvals still needed before the item moves on' }),
    approvers: z.array(z.string()).openapi({ description: 'Named approvers who have not approved yet (a change: cab_approvers minus its approvals this round)' }),
    approverGroups: z.array(z.string()).openapi({ description: 'Groups whose members may give the missing approvals (a promotion’s policy)' }),
  })
  .openapi('Awaiting');

/** An inbox item: the promotion or change as served elsewhere, with its kind and what it still waits for. */
export const PendingApprovalSchema = z
  .discriminatedUnion('kind', [
    PromotionSchema.extend({ kind: z.literal('promotion'), awaiting: AwaitingSchema }).openapi('PendingPromotion'),
    ChangeSchema.extend({ kind: z.literal('change'), awaiting: AwaitingSchema }).openapi('PendingChange'),
    PendingRunStepSchema,
  ])
  .openapi('PendingApproval');

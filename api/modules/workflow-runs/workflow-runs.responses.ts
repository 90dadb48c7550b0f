import { z } from '@hono/zod-openapi';
import { NODE_STATUSES, RUN_STATUSES, STEP_TYPES } from '../../../domain/templates/model';
import { NODE_ID_PATTERN } from '../../../domain/templates/references';

/** What the workflow-run routes answer (Stella: camelCase). */

const uuid = (name: string) => z.uuid({ message: 'must be a UUID' }).openapi({ param: { name, in: 'path' }, example: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f' });
export const IdParam = z.object({ id: uuid('id') });
export const NodeParams = IdParam.extend({
  nodeId: z.string().regex(NODE_ID_PATTERN, { message: 'must be a node id (a letter or _, then letters, digits or _; at most 64)' }).openapi({ param: { name: 'nodeId', in: 'path' }, example: 'deploy_staging' }),
});
export const ArtifactParams = NodeParams.extend({ artifactId: uuid('artifactId') });

const ItemsSchema = z.object({ total: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), running: z.number().int(), skipped: z.number().int() });

export const StepApprovalSchema = z.object({
  approverId: z.string(),
  approverEmail: z.string().optional(),
  decision: z.enum(['approved', 'rejected']),
  comment: z.string().optional(),
  at: z.string(),
});

export const ApprovalRequestSchema = z
  .object({
    required: z.number().int().openapi({ description: 'Approvals from distinct people it needs' }),
    groups: z.array(z.string()).readonly().openapi({ description: 'Whose members may decide (none: holders of template-run:operate)' }),
    separationOfDuties: z.boolean().openapi({ description: "Whether the run's requester is kept from deciding" }),
    expiresAt: z.string().nullable(),
    message: z.string().nullable(),
  })
  .openapi('WorkflowRunApprovalRequest');

export const RunNodeSchema = z
  .object({
    nodeId: z.string(),
    type: z.enum(STEP_TYPES),
    phase: z.enum(['main', 'onCancel', 'finally']),
    status: z.enum(NODE_STATUSES),
    attempts: z.number().int(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    outputs: z.record(z.string(), z.unknown()).nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    reason: z.string().nullable().openapi({ description: 'Why a skipped node was skipped, or what a running node waits for' }),
    items: ItemsSchema.nullable().openapi({ description: 'forEach nodes: how the items stand' }),
    approvals: z.array(StepApprovalSchema).readonly().optional().openapi({ description: 'approval nodes: the decisions so far' }),
    approval: ApprovalRequestSchema.optional().openapi({ description: 'approval nodes, once waiting: what they wait for' }),
  })
  .openapi('WorkflowRunNode');

export const WorkflowRunSchema = z
  .object({
    id: z.string(),
    templateId: z.string(),
    templateName: z.string(),
    templateVersion: z.number().int().openapi({ description: 'The template version the run keeps, whatever later edits do' }),
    parameters: z.record(z.string(), z.unknown()),
    status: z.enum(RUN_STATUSES),
    nodes: z.array(RunNodeSchema).readonly(),
    requestedBy: z.string(),
    requestedByEmail: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    endedAt: z.string().nullable(),
    statusReason: z.string().nullable().optional().openapi({ description: 'Set when the run’s workflow was ended outside Tollgate (a Cancel or Terminate in the Temporal UI, a failure, a timeout): how, by whom, when' }),
    version: z.number().int(),
  })
  .openapi('WorkflowRun');

export const RunLogLineSchema = z.object({
  seq: z.number().int(),
  itemIndex: z.number().int().nullable().openapi({ description: 'forEach: the item the line belongs to' }),
  stream: z.string(),
  line: z.string(),
  at: z.string(),
});

export const RunLogPageSchema = z
  .object({
    runId: z.string(),
    nodeId: z.string(),
    lines: z.array(RunLogLineSchema),
    nextAfterSeq: z.number().int().nullable().openapi({ description: 'Ask again with afterSeq set to this for the lines after; null when the page was the last one so far' }),
  })
  .openapi('WorkflowRunLogPage');

export const RunArtifactSchema = z
  .object({
    id: z.string(),
    nodeId: z.string(),
    itemIndex: z.number().int().nullable(),
    name: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    createdAt: z.string(),
    downloadUrl: z.string(),
  })
  .openapi('WorkflowRunArtifact');

/** An approval node in the caller's inbox (GET /my/pending-approvals, kind `workflow-step`). */
export const PendingRunStepSchema = z
  .object({
    kind: z.literal('workflow-step'),
    id: z.string().openapi({ description: '`<runId>/<nodeId>`' }),
    runId: z.string(),
    nodeId: z.string(),
    templateId: z.string(),
    templateName: z.string(),
    templateVersion: z.number().int(),
    runStatus: z.enum(RUN_STATUSES),
    requestedBy: z.string(),
    requestedByEmail: z.string().nullable(),
    since: z.string().openapi({ description: 'When the step started waiting' }),
    approval: ApprovalRequestSchema,
    approvals: z.array(StepApprovalSchema).readonly(),
    awaiting: z.object({ approvals: z.number().int(), approvers: z.array(z.string()), approverGroups: z.array(z.string()) }),
    links: z
      .object({ step: z.string(), approve: z.string(), reject: z.string() })
      .openapi({ description: 'The step, and where to POST a decision (`steps/{nodeId}/approve` or `…/reject`)' }),
  })
  .openapi('PendingWorkflowStep');

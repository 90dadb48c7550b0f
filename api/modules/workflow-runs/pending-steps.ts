import type { Actor } from '../../../domain/actor';
import { hasPermission } from '../../../domain/permissions';
import type { ApprovalRequest, StepApproval, WorkflowRun } from '../../../domain/templates/model';
import { approvalOutcome, awaitsStepDecisionFrom } from '../../../domain/templates/step-approvals';
import type { Pool } from '../../../platform/db';

/**
 * The approval nodes of live runs that would take the caller's decision now,
 * for the caller's inbox (GET /my/pending-approvals, kind `workflow-step`):
 * the run's rules (domain/templates/step-approvals.ts), judged on what each
 * node waits for as the run recorded it.
 */

export interface PendingRunStep {
  kind: 'workflow-step';
  /** `<runId>/<nodeId>`: unique in the inbox, and what its cursor pages by. */
  id: string;
  runId: string;
  nodeId: string;
  templateId: string;
  templateName: string;
  templateVersion: number;
  runStatus: WorkflowRun['status'];
  requestedBy: string;
  requestedByEmail: string | null;
  /** When the node started waiting. */
  since: string;
  approval: ApprovalRequest;
  approvals: readonly StepApproval[];
  awaiting: { approvals: number; approvers: string[]; approverGroups: string[] };
  links: { step: string; approve: string; reject: string };
}

const CANDIDATES = 500;

export async function runStepsAwaiting(pool: Pool, tenantId: string, actor: Actor): Promise<PendingRunStep[]> {
  if (!hasPermission(actor, 'template:read')) return [];
  const { rows } = await pool.query<{ body: WorkflowRun }>(
    `SELECT body FROM workflow_runs
      WHERE tenant_id = $1 AND status IN ('running', 'paused') AND body->'nodes' @> '[{"type":"approval","status":"running"}]'::jsonb
      ORDER BY created_at, id LIMIT ${CANDIDATES}`,
    [tenantId],
  );
  return rows.flatMap(({ body: run }) =>
    run.nodes.filter((node) => awaitsStepDecisionFrom(run, node, actor)).map((node): PendingRunStep => {
      const approval = node.approval!;
      const outcome = approvalOutcome(node.approvals ?? [], approval.required);
      const step = `/api/v1/workflow-runs/${run.id}/steps/${encodeURIComponent(node.nodeId)}`;
      return {
        kind: 'workflow-step',
        id: `${run.id}/${node.nodeId}`,
        runId: run.id,
        nodeId: node.nodeId,
        templateId: run.templateId,
        templateName: run.templateName,
        templateVersion: run.templateVersion,
        runStatus: run.status,
        requestedBy: run.requestedBy,
        requestedByEmail: run.requestedByEmail ?? null,
        since: node.startedAt ?? run.createdAt,
        approval,
        approvals: node.approvals ?? [],
        awaiting: { approvals: outcome.outcome === 'open' ? outcome.missing : 0, approvers: [], approverGroups: [...approval.groups] },
        links: { step, approve: `${step}/approve`, reject: `${step}/reject` },
      };
    }),
  );
}

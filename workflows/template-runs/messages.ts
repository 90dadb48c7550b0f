import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type { NodeStatus, RunStatus, TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { SA } from '../../domain/search-attributes';

/** Messages of the `templateRun` workflow; the API imports these definitions. */

export const TEMPLATE_RUN_WORKFLOW_TYPE = 'templateRun';

export interface TemplateRunInput {
  tenantId: string;
  runId: string;
  templateId: string;
  /** The template version the run keeps, whatever later PUTs do. */
  templateVersion: number;
  spec: TemplateSpec;
  /** Validated against the template, defaults applied. */
  parameters: Record<string, unknown>;
  requestedBy: string;
  requestedByEmail?: string;
  createdAt: string;
  /** The DAG's state carried across continue-as-new. */
  carried?: WorkflowRun;
  /** What the run shows of a forEach node only in sum: each item's state, carried across continue-as-new. */
  carriedItems?: Record<string, ItemProgress[]>;
  maxHistoryEvents?: number;
}

export interface ItemProgress {
  status: NodeStatus;
  attempts: number;
  outputs: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

export interface TemplateRunResult {
  id: string;
  status: RunStatus;
}

/**
 * A run's search attributes, one list for both ends: the API sets it at the
 * start and the workflow upserts what moved. The template's name rides in
 * TollgateType (templates and runs have no environment or release of their own).
 */
export function searchAttributesOf(tenantId: string, run: Pick<WorkflowRun, 'id' | 'status' | 'templateName'>, title?: string): SearchAttributePair[] {
  const attributes: SearchAttributePair[] = [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'template-run' },
    { key: SA.resourceId, value: run.id },
    { key: SA.state, value: run.status },
    { key: SA.type, value: run.templateName },
  ];
  return title === undefined ? attributes : [...attributes, { key: SA.title, value: title }];
}

export interface RunCommandBody {
  reason?: string;
}
export interface StepDecisionBody {
  nodeId: string;
  decision: 'approved' | 'rejected';
  comment?: string;
}

/** Stop scheduling new nodes (running ones finish). 409 on a finished or already paused run. */
export const pauseRun = defineUpdate<WorkflowRun, [RunCommandBody, CommandMeta]>('pause');
export const resumeRun = defineUpdate<WorkflowRun, [RunCommandBody, CommandMeta]>('resume');
/** Cancel running nodes, then run onCancel/finally nodes. */
export const cancelRun = defineUpdate<WorkflowRun, [RunCommandBody, CommandMeta]>('cancel');
/** An approver's decision on an approval node (promotions' rules: groups, SoD, one vote per person). */
export const decideStep = defineUpdate<WorkflowRun, [StepDecisionBody, CommandMeta]>('decideStep');

export const getRun = defineQuery<WorkflowRun | null>('getRun');

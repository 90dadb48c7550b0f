import type { Identity } from '../actor';

/**
 * Workflow templates and their runs: a release team writes its pipeline once
 * as a DAG of nodes whose steps are Tollgate's own capabilities, and every run
 * interprets the template version it started with (one `templateRun`
 * workflow per run). These are the shapes the API, the workflow and its
 * activities share.
 */

export const STEP_TYPES = ['script', 'http', 'wait', 'approval', 'gate', 'promote', 'deploy', 'change-request', 'rollout', 'notify'] as const;
export type StepTypeName = (typeof STEP_TYPES)[number];

export const PARAMETER_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export interface TemplateParameter {
  name: string;
  type: ParameterType;
  description?: string;
  /** Absent: the parameter is required at the run's start. */
  default?: unknown;
  /** Allowed values (strings and numbers). */
  enum?: readonly (string | number)[];
}

export interface NodeRetry {
  /** Tries in all, the first included (1 = no retry). */
  attempts: number;
  /** Wait before the second try ("10s", house duration format); doubled by `backoffCoefficient` each time, capped by `maxBackoff`. */
  backoff?: string;
  backoffCoefficient?: number;
  maxBackoff?: string;
}

export interface NodeForEach {
  /** The list to fan out over: a CEL expression (`parameters.regions`, `steps.list.outputs.items`) or a literal list. */
  items: string | readonly unknown[];
  /** How many items run at once (default 10). */
  concurrency?: number;
}

export interface TemplateNode {
  id: string;
  type: StepTypeName;
  /** Shown in the UI; defaults to the id. */
  name?: string;
  /** The step type's inputs; strings may hold `${{ parameters.x }}`, `${{ steps.<id>.outputs.<field> }}` and, under forEach, `${{ item }}` / `${{ item.field }}`. */
  inputs: Record<string, unknown>;
  dependsOn?: readonly string[];
  /** CEL over `parameters`, `steps` (id → { status, outputs }) and, under forEach, `item`; false skips the node (and its dependants that only wait on skipped nodes). */
  when?: string;
  retry?: NodeRetry;
  /** Per try ("15m"); the try is cancelled after it. */
  timeout?: string;
  /** A failure of this node does not fail the run; its dependants still run. */
  continueOnError?: boolean;
  forEach?: NodeForEach;
}

export interface TemplateSpec {
  name: string;
  description?: string;
  parameters?: readonly TemplateParameter[];
  nodes: readonly TemplateNode[];
  /** Run after a cancel, in a scope nobody can cancel. */
  onCancel?: readonly TemplateNode[];
  /** Run at the end whatever the outcome (after onCancel when cancelled). */
  finally?: readonly TemplateNode[];
}

export interface WorkflowTemplate {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  /** Starts at 1; each PUT makes the next version, older ones are kept for the runs that use them. */
  version: number;
  spec: TemplateSpec;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const NODE_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export const RUN_STATUSES = ['running', 'paused', 'cancelling', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Which part of the template a node belongs to. */
export type NodePhase = 'main' | 'onCancel' | 'finally';

export interface StepApproval {
  approverId: string;
  approverEmail?: string;
  decision: 'approved' | 'rejected';
  comment?: string;
  at: string;
}

export interface RunNode {
  nodeId: string;
  type: StepTypeName;
  phase: NodePhase;
  status: NodeStatus;
  /** Tries so far (forEach: the most of any item). */
  attempts: number;
  startedAt: string | null;
  endedAt: string | null;
  outputs: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  /** Why a skipped node was skipped (its `when`, or every dependency skipped), or what a running node waits for. */
  reason: string | null;
  /** forEach: how the items stand. */
  items: { total: number; succeeded: number; failed: number; running: number; skipped: number } | null;
  /** approval nodes: the decisions so far. */
  approvals?: readonly StepApproval[];
  /** approval nodes, once waiting: what they wait for, as the run resolved it (the inbox judges who may decide from it). */
  approval?: ApprovalRequest;
}

export interface ApprovalRequest {
  required: number;
  groups: readonly string[];
  separationOfDuties: boolean;
  expiresAt: string | null;
  message: string | null;
}

export interface WorkflowRun {
  id: string;
  tenantId: string;
  templateId: string;
  templateName: string;
  templateVersion: number;
  parameters: Record<string, unknown>;
  status: RunStatus;
  nodes: readonly RunNode[];
  requestedBy: string;
  requestedByEmail?: string;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  /** Why a run ended as it did when Tollgate did not end it (its workflow ended outside Tollgate); absent otherwise. */
  statusReason?: string | null;
  /** Bumps at each persisted change; the row is written WHERE version < new. */
  version: number;
}

/** What a step was asked to do, once its inputs are resolved (the activities' and children's input). */
export interface StepRequest {
  tenantId: string;
  runId: string;
  nodeId: string;
  /** forEach: the item's index. */
  itemIndex?: number;
  type: StepTypeName;
  inputs: Record<string, unknown>;
  attempt: number;
  requestedBy: Identity;
}

export interface StepResult {
  outputs: Record<string, unknown>;
}

import * as wf from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type { EntityEvent } from '../../domain/draft';
import type { NodePhase, RunNode, TemplateNode, TemplateSpec, WorkflowRun } from '../../domain/templates/model';
import { pendingRunNode } from '../../domain/templates/run-nodes';
import type { RunEventBatch } from '../../activities/template-runs/persist';
import type { TemplateRunInput } from './messages';

/**
 * The run as the workflow holds it: every change bumps the version (the row
 * is written WHERE version < new) and queues its audit events with whoever
 * caused it; the persister writes the newest version and what queued since.
 */
export class RunState {
  run: WorkflowRun;
  batches: RunEventBatch[] = [];

  constructor(
    run: WorkflowRun,
    private readonly onChange: (run: WorkflowRun) => void,
  ) {
    this.run = run;
  }

  node(nodeId: string): RunNode | undefined {
    return this.run.nodes.find((n) => n.nodeId === nodeId);
  }

  /** Applies a change; `events` (with their sender) become the audit of the version that first persists it. */
  commit(next: Partial<WorkflowRun>, events: readonly EntityEvent[] = [], meta?: CommandMeta): void {
    this.run = { ...this.run, ...next, version: this.run.version + 1, updatedAt: now() };
    if (events.length) {
      const actor = { userId: meta?.actor.userId ?? SYSTEM_ACTOR.userId, email: meta?.actor.email };
      const last = this.batches[this.batches.length - 1];
      if (last && last.actor.userId === actor.userId && last.requestId === meta?.requestId) last.events.push(...events);
      else this.batches.push({ actor, requestId: meta?.requestId, events: [...events] });
    }
    this.onChange(this.run);
  }

  /** Changes one node; a status move is an audit event. */
  updateNode(nodeId: string, patch: Partial<RunNode>, meta?: CommandMeta): void {
    const before = this.node(nodeId);
    if (!before) return;
    const after = { ...before, ...patch };
    const events: EntityEvent[] = [];
    if (patch.status && patch.status !== before.status) {
      events.push({
        action: `template-run.step.${patch.status}`,
        before: { nodeId, status: before.status },
        after: { nodeId, status: patch.status, ...(after.error ? { error: after.error } : {}), ...(patch.reason ? { reason: patch.reason } : {}) },
      });
    }
    this.commit({ nodes: this.run.nodes.map((n) => (n.nodeId === nodeId ? after : n)) }, events, meta);
  }
}

const SYSTEM_ACTOR = { userId: 'tollgate' };

export function now(): string {
  return new Date(Date.now()).toISOString();
}

/** Every node of the template with the part it belongs to, in the template's order. */
export function templateNodes(spec: TemplateSpec): Array<{ node: TemplateNode; phase: NodePhase }> {
  return [
    ...spec.nodes.map((node) => ({ node, phase: 'main' as const })),
    ...(spec.onCancel ?? []).map((node) => ({ node, phase: 'onCancel' as const })),
    ...(spec.finally ?? []).map((node) => ({ node, phase: 'finally' as const })),
  ];
}

export function initialRun(input: TemplateRunInput): WorkflowRun {
  const at = now();
  return {
    id: input.runId,
    tenantId: input.tenantId,
    templateId: input.templateId,
    templateName: input.spec.name,
    templateVersion: input.templateVersion,
    parameters: input.parameters,
    status: 'running',
    nodes: templateNodes(input.spec).map(({ node, phase }) => pendingRunNode(node, phase)),
    requestedBy: input.requestedBy,
    ...(input.requestedByEmail ? { requestedByEmail: input.requestedByEmail } : {}),
    createdAt: input.createdAt,
    updatedAt: at,
    endedAt: null,
    version: 0,
  };
}

/** A step failure as the run shows it: a stable code and a message. */
export class NodeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeFailure';
  }
}

export function failureOf(err: unknown): { code: string; message: string } {
  if (err instanceof NodeFailure) return { code: err.code, message: err.message };
  if (err instanceof wf.ActivityFailure || err instanceof wf.ChildWorkflowFailure) {
    const cause = err.cause;
    if (cause instanceof wf.ApplicationFailure) return { code: cause.type ?? 'STEP_FAILED', message: cause.message };
    if (cause instanceof wf.TimeoutFailure) return { code: 'STEP_TIMED_OUT', message: `the step timed out (${cause.timeoutType})` };
    return { code: 'STEP_FAILED', message: cause?.message ?? err.message };
  }
  if (err instanceof wf.ApplicationFailure) return { code: err.type ?? 'STEP_FAILED', message: err.message };
  return { code: 'STEP_FAILED', message: err instanceof Error ? err.message : String(err) };
}

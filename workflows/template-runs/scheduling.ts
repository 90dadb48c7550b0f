import type { NodeStatus, RunNode, TemplateNode } from '../../domain/templates/model';

/**
 * Which pending nodes of a section may start, and which can never run: pure,
 * over the nodes' statuses, so a replay schedules the same nodes in the same
 * order (the template's order).
 */

export type Readiness = { kind: 'wait' } | { kind: 'run' } | { kind: 'skip'; reason: string } | { kind: 'blocked'; reason: string };

/** A finished dependency lets its dependants go on; a failure does only under continueOnError. */
export function readiness(node: TemplateNode, statusOf: (id: string) => RunNode | undefined, continues: (id: string) => boolean): Readiness {
  const deps = node.dependsOn ?? [];
  const states = deps.map((id) => ({ id, node: statusOf(id) }));
  const failed = states.find((d) => d.node?.status === 'failed' && !continues(d.id));
  if (failed) return { kind: 'blocked', reason: `dependency ${failed.id} failed` };
  if (states.some((d) => !d.node || !FINISHED.includes(d.node.status))) return { kind: 'wait' };
  if (deps.length > 0 && states.every((d) => d.node!.status === 'skipped' || d.node!.status === 'cancelled')) {
    return { kind: 'skip', reason: `every dependency was skipped or cancelled (${deps.join(', ')})` };
  }
  return { kind: 'run' };
}

const FINISHED: readonly NodeStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export function isNodeFinished(status: NodeStatus): boolean {
  return FINISHED.includes(status);
}

/** The steps scope CEL reads: every node's status and outputs. */
export function stepsScope(nodes: readonly RunNode[]): Record<string, { status: string; outputs: Record<string, unknown> | null }> {
  return Object.fromEntries(nodes.map((n) => [n.nodeId, { status: n.status, outputs: n.outputs }]));
}

/** Waits grow by the coefficient from `backoff`, capped by `maxBackoff`. */
export function backoffMs(retry: { backoff?: number; coefficient?: number; max?: number }, failedTries: number): number {
  const base = retry.backoff ?? 1000;
  const grown = base * Math.pow(retry.coefficient ?? 2, Math.max(0, failedTries - 1));
  return Math.min(grown, retry.max ?? Number.POSITIVE_INFINITY);
}

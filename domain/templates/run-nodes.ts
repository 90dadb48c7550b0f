import type { NodePhase, RunNode, TemplateNode, TemplateSpec } from './model';

/** A node of a run that has not started: what a new run shows for each node of its template. */
export function pendingRunNode(node: Pick<TemplateNode, 'id' | 'type'>, phase: NodePhase): RunNode {
  return {
    nodeId: node.id,
    type: node.type,
    phase,
    status: 'pending',
    attempts: 0,
    startedAt: null,
    endedAt: null,
    outputs: null,
    error: null,
    reason: null,
    items: null,
    ...(node.type === 'approval' ? { approvals: [] } : {}),
  };
}

/** Every node of the template in run order of its sections: main, onCancel, finally. */
export function pendingRunNodes(spec: Pick<TemplateSpec, 'nodes' | 'onCancel' | 'finally'>): RunNode[] {
  return [
    ...spec.nodes.map((n) => pendingRunNode(n, 'main')),
    ...(spec.onCancel ?? []).map((n) => pendingRunNode(n, 'onCancel')),
    ...(spec.finally ?? []).map((n) => pendingRunNode(n, 'finally')),
  ];
}

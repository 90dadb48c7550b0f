/**
 * The dependency graph of one section of a template (its nodes, its onCancel
 * nodes or its finally nodes): cycles, named node by node, and each node's
 * transitive dependencies (what its references and `when` may read).
 * Dependencies on ids outside the graph are ignored here; the validator
 * reports them.
 */

export interface DagNode {
  id: string;
  dependsOn?: readonly string[];
}

/** Every elementary cycle found by a depth-first walk, each as the path that closes it: ["a", "b", "c", "a"]. Each cycle once, whatever node it was entered from. */
export function findCycles(nodes: readonly DagNode[]): string[][] {
  const edges = edgesOf(nodes);
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    // Iterative, so a chain of hundreds of nodes cannot overflow the stack.
    const path: string[] = [];
    const stack: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
    state.set(start, 'open');
    path.push(start);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const deps = edges.get(top.id) ?? [];
      if (top.next >= deps.length) {
        state.set(top.id, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const dep = deps[top.next++];
      const at = state.get(dep);
      if (at === 'open') {
        const cycle = [...path.slice(path.indexOf(dep)), dep];
        const key = canonical(cycle);
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (at === undefined) {
        state.set(dep, 'open');
        path.push(dep);
        stack.push({ id: dep, next: 0 });
      }
    }
  }
  // A node lists what it waits on, so a walk goes against the run order; a cycle reads in run order: a → b → a means b waits on a.
  return cycles.map((c) => [...c].reverse());
}

/** Each node's transitive dependencies (never itself, even in a cycle). */
export function ancestorsOf(nodes: readonly DagNode[]): Map<string, Set<string>> {
  const edges = edgesOf(nodes);
  const out = new Map<string, Set<string>>();
  for (const id of edges.keys()) {
    const found = new Set<string>();
    const queue = [...(edges.get(id) ?? [])];
    while (queue.length) {
      const next = queue.pop()!;
      if (found.has(next)) continue;
      found.add(next);
      queue.push(...(edges.get(next) ?? []));
    }
    found.delete(id);
    out.set(id, found);
  }
  return out;
}

function edgesOf(nodes: readonly DagNode[]): Map<string, string[]> {
  const ids = new Set(nodes.map((n) => n.id));
  const edges = new Map<string, string[]>();
  for (const node of nodes) if (!edges.has(node.id)) edges.set(node.id, [...new Set((node.dependsOn ?? []).filter((d) => ids.has(d)))]);
  return edges;
}

/** The same cycle entered at another node has the same key: rotated to start at its smallest id. */
function canonical(cycle: string[]): string {
  const ring = cycle.slice(0, -1);
  const smallest = ring.indexOf([...ring].sort()[0]);
  return [...ring.slice(smallest), ...ring.slice(0, smallest)].join('→');
}

/** A DAG's nodes as both runs need them: an id and what it waits for. */
export interface ShapeNode {
  id: string;
  dependsOn: string[];
}

export const SHAPES = ['chain', 'fan-out', 'diamond-mesh'] as const;
export type ShapeName = (typeof SHAPES)[number];

const id = (n: number) => `n${String(n).padStart(3, '0')}`;

/**
 * The benchmark's three shapes of `size` nodes:
 * - chain: each node waits for the one before;
 * - fan-out: one root, every middle node waits on it, one sink waits on them all;
 * - diamond-mesh: layers 10 wide, each node waiting on two neighbours of the layer before
 *   (its own column and the next, wrapping), so every pair of layers forms a ring of diamonds.
 */
export function shape(name: ShapeName, size: number): ShapeNode[] {
  if (size < 3) throw new Error('a shape needs at least 3 nodes');
  if (name === 'chain') return Array.from({ length: size }, (_, i) => ({ id: id(i), dependsOn: i === 0 ? [] : [id(i - 1)] }));
  if (name === 'fan-out') {
    const middle = Array.from({ length: size - 2 }, (_, i) => ({ id: id(i + 1), dependsOn: [id(0)] }));
    return [{ id: id(0), dependsOn: [] }, ...middle, { id: id(size - 1), dependsOn: middle.map((m) => m.id) }];
  }
  const width = Math.min(10, size);
  return Array.from({ length: size }, (_, i) => {
    const layer = Math.floor(i / width);
    if (layer === 0) return { id: id(i), dependsOn: [] };
    const col = i % width;
    const above = (c: number) => (layer - 1) * width + c;
    // The last layer may be partial; the layer above is always full.
    return { id: id(i), dependsOn: [...new Set([above(col), above((col + 1) % width)])].map(id) };
  });
}

/** The longest path, in nodes: what a run of the shape cannot beat however wide it goes. */
export function depthOf(nodes: readonly ShapeNode[]): number {
  const depth = new Map<string, number>();
  for (const n of nodes) depth.set(n.id, 1 + Math.max(0, ...n.dependsOn.map((d) => depth.get(d)!)));
  return Math.max(...depth.values());
}

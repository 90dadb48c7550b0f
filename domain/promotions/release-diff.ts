import type { ReleaseComponentRef } from './model';

/** How a component differs between two releases: only in one of them, or in both with another version or digest. */
export type ComponentChange = 'added' | 'removed' | 'version' | 'digest';

export interface ComponentDifference {
  componentId: string;
  name: string;
  change: ComponentChange;
  version: string | null;
  otherVersion: string | null;
  digest: string | null;
  otherDigest: string | null;
}

/**
 * What differs between a release and another, component by component in the
 * release's order and then the other's: `removed` when only the release has
 * it, `added` when only the other does, else a different version, else a
 * different digest (the same version re-tagged).
 */
export function releaseDifferences(mine: readonly ReleaseComponentRef[], theirs: readonly ReleaseComponentRef[]): ComponentDifference[] {
  const byId = (components: readonly ReleaseComponentRef[]) => new Map(components.map((x) => [x.componentId, x]));
  const [a, b] = [byId(mine), byId(theirs)];
  const differences: ComponentDifference[] = [];
  for (const componentId of new Set([...a.keys(), ...b.keys()])) {
    const [x, y] = [a.get(componentId), b.get(componentId)];
    const change: ComponentChange | undefined = !y ? 'removed' : !x ? 'added' : x.version !== y.version ? 'version' : x.digest !== y.digest ? 'digest' : undefined;
    if (!change) continue;
    differences.push({ componentId, name: (x ?? y)!.name, change, version: x?.version ?? null, otherVersion: y?.version ?? null, digest: x?.digest ?? null, otherDigest: y?.digest ?? null });
  }
  return differences;
}

import type { TrafficSpec } from '../../domain/traffic';

/**
 * `total` split into `parts` whole numbers that add up to it exactly (largest remainder): the router's weights are
 * integers, and the share a variant gets is the sum of its servers' weights, so the sum must be exact.
 */
export function splitEvenly(total: number, parts: number): number[] {
  if (parts <= 0) return [];
  const base = Math.floor(total / parts);
  const extra = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * The weight of every server behind the split: `canaryWeight` of 100 across the canary servers and the rest across
 * the stable ones, so round-robin serves exactly that share (0 → no canary server is picked, 100 → no stable one).
 * A variant without servers gives its share to the other: weights must not leave the route without a server.
 */
export function serverWeights(spec: Pick<TrafficSpec, 'stable' | 'canary' | 'canaryWeight'>): { stable: number[]; canary: number[] } {
  const p = clampPercent(spec.canaryWeight);
  if (spec.canary.length === 0) return { stable: splitEvenly(100, spec.stable.length), canary: [] };
  if (spec.stable.length === 0) return { stable: [], canary: splitEvenly(100, spec.canary.length) };
  return { stable: splitEvenly(100 - p, spec.stable.length), canary: splitEvenly(p, spec.canary.length) };
}

/** The canary's percent from the weights a router reports (0 when no server has weight). */
export function canaryPercent(stableTotal: number, canaryTotal: number): number {
  const total = stableTotal + canaryTotal;
  return total <= 0 ? 0 : Math.round((100 * canaryTotal) / total);
}

export function clampPercent(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(100, Math.max(0, Math.round(value)));
}

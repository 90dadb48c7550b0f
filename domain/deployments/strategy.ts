import type { DeploymentJobInput, DeploymentSettings, EnvironmentDeploymentSettings, FailurePolicy, Strategy } from './model';

/** What a job runs with when neither the request nor the environment says otherwise. */
export const DEFAULT_STRATEGY: Strategy = { type: 'all-at-once' };
export const DEFAULT_FAILURE_POLICY: FailurePolicy = 'rollback';

/** The configuration defaults (platform/config.ts), for a job started without settings (a promotion started before they existed). */
export const DEFAULT_DEPLOYMENT_SETTINGS: DeploymentSettings = {
  heartbeatTimeoutMs: 10_000,
  pickupTimeoutMs: 60_000,
  taskTimeoutMs: 30 * 60_000,
  cancelGraceMs: 10_000,
  logCapBytes: 1024 * 1024,
};

/** The request's choice wins over the environment's, which wins over the defaults. */
export function effectiveStrategy(input: Pick<DeploymentJobInput, 'strategy'>, environment: EnvironmentDeploymentSettings): Strategy {
  return input.strategy ?? environment.strategy ?? DEFAULT_STRATEGY;
}

/** The targets a job deploys to: the labels the request names, else the environment's targetLabels, else all. */
export function effectiveLabelSelector(input: { labelSelector?: Record<string, string> | null }, environment: EnvironmentDeploymentSettings): Record<string, string> {
  return input.labelSelector ?? environment.targetLabels ?? {};
}

export function effectiveFailurePolicy(input: Pick<DeploymentJobInput, 'failurePolicy'>, environment: EnvironmentDeploymentSettings): FailurePolicy {
  return input.failurePolicy ?? environment.failurePolicy ?? DEFAULT_FAILURE_POLICY;
}

/**
 * How many targets a rolling batch updates: batchSize, or maxUnavailable when
 * batchSize is absent, 1 when both are. When both are set the smaller wins,
 * since a batch larger than maxUnavailable would take more targets down at once.
 */
export function rollingBatchSize(strategy: Strategy): number {
  const sizes = [strategy.batchSize, strategy.maxUnavailable].filter((n): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 1);
  return sizes.length ? Math.floor(Math.min(...sizes)) : 1;
}

/** Name order, then id: a plain comparison, so the workflow's order never depends on a locale. */
export function byName<T extends { name: string; id: string }>(a: T, b: T): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The targets in name order, split into the batches the strategy runs one after another. */
export function planBatches<T extends { name: string; id: string }>(targets: readonly T[], strategy: Strategy): T[][] {
  const ordered = [...targets].sort(byName);
  if (ordered.length === 0) return [];
  if (strategy.type !== 'rolling') return [ordered];
  const size = rollingBatchSize(strategy);
  const batches: T[][] = [];
  for (let i = 0; i < ordered.length; i += size) batches.push(ordered.slice(i, i + size));
  return batches;
}

export type MinHealthy = { kind: 'count'; count: number } | { kind: 'percent'; percent: number };

const COUNT = /^\s*(\d+)\s*$/;
const PERCENT = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/;

/** "3" or "75%"; null for anything else. */
export function parseMinHealthy(value: string): MinHealthy | null {
  const count = COUNT.exec(value);
  if (count) return { kind: 'count', count: Number(count[1]) };
  const percent = PERCENT.exec(value);
  if (percent && Number(percent[1]) <= 100) return { kind: 'percent', percent: Number(percent[1]) };
  return null;
}

/** Why a request's minHealthy cannot be used, or null when it can. */
export function minHealthyError(value: string): string | null {
  return parseMinHealthy(value) ? null : `minHealthy must be a count of targets ("3") or a percentage of them ("75%"), not "${value}"`;
}

/**
 * How many of `total` targets must end healthy: a percentage rounds up (75 %
 * of 5 is 4), a count is capped at the total, and an absent (or unreadable)
 * threshold means every target, so any failure breaches it.
 */
export function healthyThreshold(minHealthy: string | null | undefined, total: number): number {
  const parsed = minHealthy == null ? null : parseMinHealthy(minHealthy);
  if (!parsed) return total;
  const wanted = parsed.kind === 'count' ? parsed.count : Math.ceil((parsed.percent * total) / 100 - 1e-9);
  return Math.min(total, Math.max(0, wanted));
}

/** Whether the job may go on with `unhealthy` of its `total` targets failed or skipped. */
export function toleratesFailures(strategy: Strategy, total: number, unhealthy: number): boolean {
  if (unhealthy === 0) return true;
  if (strategy.minHealthy == null) return false;
  return total - unhealthy >= healthyThreshold(strategy.minHealthy, total);
}

/** How the strategy reads in the Temporal UI and in reasons: "rolling, batches of 2, minHealthy 75%". */
export function describeStrategy(strategy: Strategy): string {
  const parts: string[] = [strategy.type];
  if (strategy.type === 'rolling') parts.push(`batches of ${rollingBatchSize(strategy)}`);
  if (strategy.minHealthy != null) parts.push(`minHealthy ${strategy.minHealthy}`);
  return parts.join(', ');
}

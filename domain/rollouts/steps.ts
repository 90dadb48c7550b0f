import type { TrafficMatch } from '../traffic';

/** What an analysis measures, and where the numbers come from. */
export const ANALYSIS_METRICS = ['error-rate', 'latency-p99', 'latency-mean', 'success-rate'] as const;
export type AnalysisMetric = (typeof ANALYSIS_METRICS)[number];
export const METRIC_PROVIDERS = ['router', 'prometheus', 'http'] as const;
export type MetricProvider = (typeof METRIC_PROVIDERS)[number];

/** Which metrics each provider can measure: the router keeps counts and a mean, a probe sees percentiles, PromQL sees everything. */
export const PROVIDER_METRICS: Readonly<Record<MetricProvider, readonly AnalysisMetric[]>> = {
  router: ['error-rate', 'success-rate', 'latency-mean'],
  http: ['error-rate', 'success-rate', 'latency-p99'],
  prometheus: ['error-rate', 'success-rate', 'latency-p99', 'latency-mean'],
};

export interface AnalysisSpec {
  metric: AnalysisMetric;
  provider: MetricProvider;
  /** Failure when the canary's value is above (error rate, latency) … */
  max: number | null;
  /** … or below (success rate) this. */
  min: number | null;
  /** The canary's score against stable (0-100) below which a measurement fails; null: no baseline condition. */
  minScore: number | null;
  windowMs: number;
  intervalMs: number;
  /** Failed measurements that abort the rollout (1: the first failure aborts). */
  failureLimit: number;
  /** Fewer canary requests than this in a measurement: inconclusive. */
  minRequests: number;
  /** prometheus: the server (else the worker's PROMETHEUS_URL) and an optional PromQL with {{version}} and {{window}}. */
  address: string | null;
  /** prometheus: a `prometheus` integration of the tenant instead of address (absent on analyses made before it existed). */
  integrationId?: string | null;
  query: string | null;
  /** http: the path probed on each backend, and requests per backend and measurement. */
  path: string;
  probeCount: number;
}

export type RolloutStep =
  | { setWeight: number }
  | { pause: { durationMs: number | null } }
  | { analysis: AnalysisSpec }
  /** Blue-green's preview: requests matching go to the new version before any weight moves (null clears it). */
  | { setMatch: TrafficMatch | null };

export type StepKind = 'setWeight' | 'pause' | 'analysis' | 'setMatch';

export function stepKind(step: RolloutStep): StepKind {
  if ('setWeight' in step) return 'setWeight';
  if ('pause' in step) return 'pause';
  if ('analysis' in step) return 'analysis';
  return 'setMatch';
}

/** A step in a few words, for the UI and the history. */
export function describeStep(step: RolloutStep | undefined): string {
  if (!step) return 'promoted';
  if ('setWeight' in step) return `set weight ${step.setWeight}%`;
  if ('pause' in step) return step.pause.durationMs === null ? 'pause until advance' : `pause ${Math.round(step.pause.durationMs / 1000)}s`;
  if ('analysis' in step) {
    const a = step.analysis;
    const bound = a.max !== null ? ` ≤ ${a.max}` : a.min !== null ? ` ≥ ${a.min}` : '';
    return `analysis ${a.metric}${bound} (${a.provider}${a.integrationId ? ' integration' : ''}, ${Math.round(a.windowMs / 1000)}s)`;
  }
  return step.setMatch ? `preview by ${'header' in step.setMatch ? `header ${step.setMatch.header.name}` : `cookie ${step.setMatch.cookie.name}`}` : 'clear preview match';
}

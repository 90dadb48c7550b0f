import type { AnalysisMetric } from './steps';

/**
 * The baseline-versus-canary judge: one measurement of both variants over the
 * same window, the canary's value against the thresholds, and a score of the
 * canary against stable (100: as good as stable or better). Pure, so a past
 * rollout's kept measurements can be judged again with other thresholds.
 */
export interface VariantSample {
  requests: number | null;
  errors: number | null;
  /** The latency the metric asks for (mean or p99), ms. */
  latencyMs: number | null;
  /** A provider that measures the rate itself (PromQL) gives it here. */
  value?: number | null;
}

export interface Sample {
  stable: VariantSample;
  canary: VariantSample;
}

export interface Thresholds {
  metric: AnalysisMetric;
  max: number | null;
  min: number | null;
  minScore: number | null;
  minRequests: number;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface Judgement {
  verdict: Verdict;
  /** The canary's value of the metric (a rate 0-1, or ms). */
  value: number | null;
  /** Stable's value over the same window. */
  baseline: number | null;
  /** 0-100: the canary against stable. */
  score: number | null;
  reason: string;
}

export function metricValue(metric: AnalysisMetric, v: VariantSample): number | null {
  if (v.value !== undefined && v.value !== null) return Number.isFinite(v.value) ? v.value : null;
  if (metric === 'latency-p99' || metric === 'latency-mean') return v.latencyMs;
  if (v.requests === null || v.errors === null || v.requests <= 0) return null;
  const errorRate = Math.min(1, v.errors / v.requests);
  return metric === 'error-rate' ? errorRate : 1 - errorRate;
}

/** The canary's score against stable: 100 when at least as good, falling as it gets worse (error rates compare their distance). */
export function scoreOf(metric: AnalysisMetric, canary: number, baseline: number | null): number {
  if (baseline === null) return 100;
  let ratio: number;
  if (metric === 'error-rate') ratio = 1 - Math.max(0, canary - baseline);
  else if (metric === 'success-rate') ratio = 1 - Math.max(0, baseline - canary);
  else ratio = canary <= baseline ? 1 : baseline / canary;
  return Math.round(Math.max(0, Math.min(1, ratio)) * 1000) / 10;
}

export function judge(sample: Sample, t: Thresholds): Judgement {
  const value = metricValue(t.metric, sample.canary);
  const baseline = metricValue(t.metric, sample.stable);
  const requests = sample.canary.requests;
  if (requests !== null && requests < t.minRequests) {
    return { verdict: 'inconclusive', value, baseline, score: null, reason: `canary served ${requests} request(s), fewer than the ${t.minRequests} needed to judge` };
  }
  if (value === null) return { verdict: 'inconclusive', value, baseline, score: null, reason: `no ${t.metric} value for the canary in this window` };
  const score = scoreOf(t.metric, value, baseline);
  const shown = (n: number) => (t.metric.startsWith('latency') ? `${Math.round(n * 10) / 10} ms` : String(Math.round(n * 10_000) / 10_000));
  if (t.max !== null && value > t.max) return { verdict: 'fail', value, baseline, score, reason: `canary ${t.metric} ${shown(value)} is above the maximum ${shown(t.max)}` };
  if (t.min !== null && value < t.min) return { verdict: 'fail', value, baseline, score, reason: `canary ${t.metric} ${shown(value)} is below the minimum ${shown(t.min)}` };
  if (t.minScore !== null && score < t.minScore) {
    return { verdict: 'fail', value, baseline, score, reason: `canary scores ${score} against stable (${shown(value)} vs ${baseline === null ? 'none' : shown(baseline)}), below ${t.minScore}` };
  }
  return { verdict: 'pass', value, baseline, score, reason: `canary ${t.metric} ${shown(value)} within bounds${baseline === null ? '' : ` (stable ${shown(baseline)})`}` };
}

/** Where an analysis stands after a measurement: abort at the failure limit, pause when the window ran out without a conclusive pass. */
export type AnalysisOutcome = 'continue' | 'passed' | 'failed' | 'inconclusive';

export function analysisOutcome(p: { failures: number; passes: number }, failureLimit: number, windowOver: boolean): AnalysisOutcome {
  if (p.failures >= failureLimit) return 'failed';
  if (!windowOver) return 'continue';
  return p.passes > 0 ? 'passed' : 'inconclusive';
}

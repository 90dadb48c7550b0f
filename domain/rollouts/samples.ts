import type { Sample, Thresholds } from './judge';
import type { PrometheusMeasureResult } from './ports';
import type { AnalysisSpec } from './steps';
import type { ProbeResult, RouterCounters, RouterStats } from '../traffic';

/**
 * Turns what a provider answered into one sample of both variants. The
 * router's counters are cumulative, so a measurement is the difference from
 * the one before (a router restart resets them: a negative difference counts
 * the new totals).
 */
export function routerSample(previous: RouterStats, current: RouterStats): Sample {
  const diff = (a: RouterCounters, b: RouterCounters) => {
    const reset = b.requests < a.requests || b.errors5xx < a.errors5xx;
    return {
      requests: reset ? b.requests : b.requests - a.requests,
      errors: reset ? b.errors5xx : b.errors5xx - a.errors5xx,
      latencyMs: b.meanResponseMs,
    };
  };
  return { stable: diff(previous.stable, current.stable), canary: diff(previous.canary, current.canary) };
}

/** Probe results per backend summed per variant; the latency is the worst backend's p99. */
export function probeSample(results: ProbeResult[]): Sample {
  const of = (variant: 'stable' | 'canary') => {
    const mine = results.filter((r) => r.variant === variant);
    const p99s = mine.map((r) => r.p99Ms).filter((n): n is number => n !== null);
    return {
      requests: mine.reduce((n, r) => n + r.requests, 0),
      errors: mine.reduce((n, r) => n + r.errors, 0),
      latencyMs: p99s.length ? Math.max(...p99s) : null,
    };
  };
  return { stable: of('stable'), canary: of('canary') };
}

/** A PromQL answer per variant: the value is the metric itself; the request counts, when asked, are whole (increase() extrapolates). */
export function prometheusSample(values: PrometheusMeasureResult): Sample {
  const count = (n: number | null | undefined) => (n === undefined || n === null ? null : Math.round(n));
  return {
    stable: { requests: count(values.stableRequests), errors: null, latencyMs: null, value: values.stable },
    canary: { requests: count(values.canaryRequests), errors: null, latencyMs: null, value: values.canary },
  };
}

export function thresholdsOf(a: AnalysisSpec): Thresholds {
  return { metric: a.metric, max: a.max, min: a.min, minScore: a.minScore, minRequests: a.minRequests };
}

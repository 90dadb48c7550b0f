import type { PrometheusMeasureInput } from './ports';
import type { AnalysisMetric, AnalysisSpec } from './steps';

/**
 * The PromQL a prometheus analysis runs for each variant when it names no
 * query: the demo service's request counter by version and status, and its
 * latency histogram by version. A query of its own gets the same {{version}} and {{window}} substitutions.
 * A counter by status has no 5xx series until the first 5xx, so the error
 * share's numerator falls back to 0: without it a healthy canary has no value
 * at all. The denominator does not: no requests (or fewer than two scrapes in
 * the window) stays "no value", which judges inconclusive.
 */
export const DEFAULT_PROMQL: Record<AnalysisMetric, string> = {
  'error-rate': '(sum(rate(http_requests_total{version="{{version}}",status=~"5.."}[{{window}}])) or vector(0)) / sum(rate(http_requests_total{version="{{version}}"}[{{window}}]))',
  'success-rate': '1 - ((sum(rate(http_requests_total{version="{{version}}",status=~"5.."}[{{window}}])) or vector(0)) / sum(rate(http_requests_total{version="{{version}}"}[{{window}}])))',
  'latency-p99': '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{version}}"}[{{window}}])))',
  'latency-mean': '1000 * sum(rate(http_request_duration_seconds_sum{version="{{version}}"}[{{window}}])) / sum(rate(http_request_duration_seconds_count{version="{{version}}"}[{{window}}]))',
};

/** Requests a variant served over the window, for the analysis's minRequests (only with the default queries). */
export const DEFAULT_PROMQL_REQUESTS = 'sum(increase(http_requests_total{version="{{version}}"}[{{window}}]))';

/** A query for one variant: its version (label values are escaped for PromQL's string) and the window in whole seconds. */
export function promqlFor(metric: AnalysisMetric, query: string | null, version: string, windowMs: number): string {
  const escaped = version.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return (query ?? DEFAULT_PROMQL[metric]).replaceAll('{{version}}', escaped).replaceAll('{{window}}', `${Math.max(1, Math.round(windowMs / 1000))}s`);
}

/**
 * What one measurement asks Prometheus for both variants. Each covers the
 * analysis's whole window, not the interval between measurements: a rate
 * needs two scrapes inside its range, and an interval is often shorter than
 * two scrape intervals (it would then never have a value).
 */
export function prometheusQueries(spec: AnalysisSpec, stableVersion: string, canaryVersion: string): PrometheusMeasureInput {
  const of = (version: string) => promqlFor(spec.metric, spec.query, version, spec.windowMs);
  const requests = (version: string) => promqlFor(spec.metric, DEFAULT_PROMQL_REQUESTS, version, spec.windowMs);
  return {
    address: spec.address,
    ...(spec.integrationId ? { integrationId: spec.integrationId } : {}),
    stableQuery: of(stableVersion),
    canaryQuery: of(canaryVersion),
    ...(spec.query === null ? { stableRequestsQuery: requests(stableVersion), canaryRequestsQuery: requests(canaryVersion) } : {}),
  };
}

import type { AnalysisMetric } from './steps';

/**
 * The PromQL a prometheus analysis runs for each variant when it names no
 * query: the demo service's request counter by version and status, and its
 * latency histogram by version. A query of its own takes the same placeholders.
 */
export const DEFAULT_PROMQL: Record<AnalysisMetric, string> = {
  'error-rate': 'sum(rate(http_requests_total{version="{{version}}",status=~"5.."}[{{window}}])) / sum(rate(http_requests_total{version="{{version}}"}[{{window}}]))',
  'success-rate': '1 - (sum(rate(http_requests_total{version="{{version}}",status=~"5.."}[{{window}}])) / sum(rate(http_requests_total{version="{{version}}"}[{{window}}])))',
  'latency-p99': '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="{{version}}"}[{{window}}])))',
  'latency-mean': '1000 * sum(rate(http_request_duration_seconds_sum{version="{{version}}"}[{{window}}])) / sum(rate(http_request_duration_seconds_count{version="{{version}}"}[{{window}}]))',
};

/** A query for one variant: its version (label values are escaped for PromQL's string) and the window in whole seconds. */
export function promqlFor(metric: AnalysisMetric, query: string | null, version: string, windowMs: number): string {
  const escaped = version.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return (query ?? DEFAULT_PROMQL[metric]).replaceAll('{{version}}', escaped).replaceAll('{{window}}', `${Math.max(1, Math.round(windowMs / 1000))}s`);
}

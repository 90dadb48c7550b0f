/**
 * The demo service's metrics in Prometheus' text format, by hand (one process, two metrics, no dependency):
 * requests by status and a latency histogram, both labelled with the version the service runs, so a PromQL query
 * can compare a canary's error rate and latency with stable's.
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class DemoMetrics {
  private readonly byStatus = new Map<number, number>();
  private readonly bucketCounts = BUCKETS.map(() => 0);
  private count = 0;
  private sum = 0;

  constructor(private readonly version: string) {}

  observe(status: number, seconds: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.count++;
    this.sum += seconds;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.bucketCounts[i]++;
    });
  }

  text(): string {
    const v = `version="${this.version.replace(/["\\\n]/g, '_')}"`;
    const lines = ['# HELP http_requests_total Requests served, by version and status.', '# TYPE http_requests_total counter'];
    for (const [status, n] of [...this.byStatus].sort((a, b) => a[0] - b[0])) lines.push(`http_requests_total{${v},status="${status}"} ${n}`);
    lines.push('# HELP http_request_duration_seconds Time to answer a request, by version.', '# TYPE http_request_duration_seconds histogram');
    BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{${v},le="${le}"} ${this.bucketCounts[i]}`));
    lines.push(`http_request_duration_seconds_bucket{${v},le="+Inf"} ${this.count}`);
    lines.push(`http_request_duration_seconds_sum{${v}} ${this.sum}`, `http_request_duration_seconds_count{${v}} ${this.count}`);
    return `${lines.join('\n')}\n`;
  }
}

import type { CpuPerLifecycle } from './cpu';

/** Measured numbers of one phase and how they are printed. */

export interface PhaseResult {
  lifecycles: number;
  seconds: number;
  approveMs: number[];
  cpu: CpuPerLifecycle;
}

export interface Summary {
  lifecyclesPerSecond: number;
  approveP50Ms: number;
  approveP99Ms: number;
  /** CPU ms per lifecycle of the bench process (API and workers), the Temporal server and Postgres, and their sum. */
  cpu: CpuPerLifecycle;
}

/** Nearest-rank percentile: always a latency that was actually observed. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

export function summarise(result: PhaseResult): Summary {
  return {
    lifecyclesPerSecond: result.lifecycles / result.seconds,
    approveP50Ms: percentile(result.approveMs, 50),
    approveP99Ms: percentile(result.approveMs, 99),
    cpu: result.cpu,
  };
}

export interface Report {
  n: number;
  concurrency: number;
  warmup: number;
  tollgate: Summary;
  baseline: Summary;
  ratio: Omit<Summary, 'cpu'> & { cpuPerLifecycle: number };
}

export function report(options: { n: number; concurrency: number; warmup: number }, tollgate: Summary, baseline: Summary): Report {
  return {
    ...options,
    tollgate,
    baseline,
    ratio: {
      lifecyclesPerSecond: tollgate.lifecyclesPerSecond / baseline.lifecyclesPerSecond,
      approveP50Ms: tollgate.approveP50Ms / baseline.approveP50Ms,
      approveP99Ms: tollgate.approveP99Ms / baseline.approveP99Ms,
      cpuPerLifecycle: tollgate.cpu.totalMs / baseline.cpu.totalMs,
    },
  };
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
const times = (v: number) => `${v.toFixed(2)}x`;

export function table(r: Report, perLifecycle: string, name = 'change-lifecycle'): string {
  const row = (label: string, cells: string[]) => label.padEnd(27) + cells.map((c) => c.padStart(14)).join('');
  return [
    `${name} bench: N=${r.n} concurrency=${r.concurrency} warm-up=${r.warmup} (${perLifecycle} per lifecycle)`,
    row('', ['lifecycles/s', 'approve p50', 'approve p99', 'CPU/lifecycle', 'node', 'temporal', 'postgres']),
    row('tollgate via API', [r.tollgate.lifecyclesPerSecond.toFixed(1), ms(r.tollgate.approveP50Ms), ms(r.tollgate.approveP99Ms), ...cpuCells(r.tollgate.cpu)]),
    row('baseline workflow', [r.baseline.lifecyclesPerSecond.toFixed(1), ms(r.baseline.approveP50Ms), ms(r.baseline.approveP99Ms), ...cpuCells(r.baseline.cpu)]),
    row('ratio (tollgate/baseline)', [times(r.ratio.lifecyclesPerSecond), times(r.ratio.approveP50Ms), times(r.ratio.approveP99Ms), times(r.ratio.cpuPerLifecycle)]),
    'CPU/lifecycle: CPU ms per lifecycle of the bench process (API and workers), the Temporal server and Postgres; steadier than lifecycles/s on a shared machine.',
  ].join('\n');
}

function cpuCells(cpu: CpuPerLifecycle): string[] {
  return [ms(cpu.totalMs), ms(cpu.benchMs), ms(cpu.temporalMs), ms(cpu.postgresMs)];
}

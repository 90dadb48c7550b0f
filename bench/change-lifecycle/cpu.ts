import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds spent so far by the bench process (all its threads: API,
 * workers, workflow threads) and by the stack's Temporal server and Postgres
 * (postmaster and backends), read from /proc. On a machine shared with other
 * work, wall-clock throughput swings with the neighbours; the CPU a lifecycle
 * costs each process barely moves, and on an idle machine that throughput is
 * CPU-bound, so it is the steadier comparison of two phases.
 */
export interface CpuSample {
  bench: number;
  temporal: number;
  postgres: number;
}

const TICK = 100; // clock ticks per second (USER_HZ) on Linux

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
  own: number;
  reaped: number;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({
        pid: Number(name),
        ppid: Number(f[1]),
        cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' '),
        own: (Number(f[11]) + Number(f[12])) / TICK,
        reaped: (Number(f[13]) + Number(f[14])) / TICK,
      });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** `root` is the stack's directory: the Temporal server's database and Postgres's data directory are inside it. */
export function sampleCpu(root: string): CpuSample {
  const all = processes();
  const temporal = all.filter((p) => p.cmdline.includes(`${root}/temporal.sqlite`));
  const postmaster = all.find((p) => p.cmdline.includes(`${root}/postgres`) && /postgres|postmaster/.test(p.cmdline.split(' ')[0]));
  const backends = postmaster ? all.filter((p) => p.ppid === postmaster.pid) : [];
  const usage = process.cpuUsage();
  return {
    bench: (usage.user + usage.system) / 1e6,
    temporal: temporal.reduce((s, p) => s + p.own + p.reaped, 0),
    postgres: postmaster ? postmaster.own + postmaster.reaped + backends.reduce((s, p) => s + p.own, 0) : NaN,
  };
}

/** CPU ms per lifecycle between two samples, per process and in all. */
export function cpuPerLifecycle(before: CpuSample, after: CpuSample, lifecycles: number) {
  const per = (k: keyof CpuSample) => ((after[k] - before[k]) * 1000) / lifecycles;
  const bench = per('bench');
  const temporal = per('temporal');
  const postgres = per('postgres');
  return { benchMs: bench, temporalMs: temporal, postgresMs: postgres, totalMs: bench + temporal + (Number.isNaN(postgres) ? 0 : postgres) };
}
export type CpuPerLifecycle = ReturnType<typeof cpuPerLifecycle>;

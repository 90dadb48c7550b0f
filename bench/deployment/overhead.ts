import { planBatches } from '../../domain/deployments/strategy';
import type { Strategy } from '../../domain/deployments/model';

/**
 * What a deployment job cost beyond its hooks. A batch cannot end before its
 * slowest task, so the job's floor is the sum over batches of the slowest
 * task's time. A task's startedAt/finishedAt are the orchestrator's (from the
 * task being handed out to its result arriving), so they hold the agent's
 * pickup, ledger claim and log shipping as well as the hook; the ledger's
 * claim time splits each task into "before the hook" and "hook and after".
 * With a no-op hook the hook itself costs what starting `sh -c true` costs,
 * measured here, so nearly all of the wall time is orchestration.
 */
export interface TaskTimes {
  id: string;
  targetId: string;
  targetName: string;
  startedAt: string | null;
  finishedAt: string | null;
  status: string;
}

export interface JobOverhead {
  strategy: string;
  targets: number;
  batches: number;
  /** From the job's startedAt to its finishedAt. */
  jobWallMs: number;
  /** From the promotion request until the API showed the job deployed. */
  requestToDeployedMs: number;
  slowestTaskSumMs: number;
  overheadMs: number;
  /** jobWallMs / slowestTaskSumMs. */
  overheadRatio: number;
  overheadPerBatchMs: number;
  /** The no-op hook (`sh -c true`) times the batches: what the job would take if only the hooks cost anything. */
  noopHookSumMs: number;
  /** (jobWallMs − noopHookSumMs) per batch: what the orchestration costs each batch. */
  orchestrationPerBatchMs: number;
  /** Median over tasks: from the task being handed out to its agent claiming it (the hook starts right after). */
  toClaimP50Ms: number;
  /** Median over tasks: from the claim to the orchestrator having the task's result. */
  claimToResultP50Ms: number;
}

/** A job's row in the bench's output: its overhead, its runs and history, and the bare-Temporal job of the same shape. */
export interface JobResult extends JobOverhead {
  /** Runs of the job's workflow (one more per continue-as-new) and the longest history among them, in events. */
  runs: number;
  longestHistory: number;
  /** The baseline job's wall time, measured the same way (its running write to its deployed write). */
  baselineWallMs: number;
  /** jobWallMs / baselineWallMs. */
  ratioToBaseline: number;
}

const span = (t: TaskTimes) => (t.startedAt && t.finishedAt ? Date.parse(t.finishedAt) - Date.parse(t.startedAt) : NaN);

const median = (values: number[]) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

export function jobOverhead(
  job: { startedAt: string | null; finishedAt: string | null; strategy: Strategy },
  tasks: readonly TaskTimes[],
  claims: ReadonlyMap<string, Date>,
  requestToDeployedMs: number,
  noopHookMs: number,
): JobOverhead {
  if (!job.startedAt || !job.finishedAt) throw new Error('the job has not finished');
  const byTarget = new Map(tasks.map((t) => [t.targetId, t]));
  const batches = planBatches(
    tasks.map((t) => ({ id: t.targetId, name: t.targetName })),
    job.strategy,
  );
  let slowestTaskSumMs = 0;
  for (const batch of batches) {
    const spans = batch.map((t) => span(byTarget.get(t.id)!));
    if (spans.some(Number.isNaN)) throw new Error('a task has no startedAt/finishedAt');
    slowestTaskSumMs += Math.max(...spans);
  }
  const jobWallMs = Date.parse(job.finishedAt) - Date.parse(job.startedAt);
  const overheadMs = jobWallMs - slowestTaskSumMs;
  const noopHookSumMs = noopHookMs * batches.length;
  const claimed = tasks.filter((t) => claims.has(t.id) && t.startedAt && t.finishedAt);
  const claimAt = (t: TaskTimes) => claims.get(t.id)!.getTime();
  return {
    strategy: job.strategy.type === 'rolling' ? `rolling (batches of ${batches[0]?.length ?? 0})` : job.strategy.type,
    targets: tasks.length,
    batches: batches.length,
    jobWallMs,
    requestToDeployedMs,
    slowestTaskSumMs,
    overheadMs,
    overheadRatio: jobWallMs / Math.max(slowestTaskSumMs, 1),
    overheadPerBatchMs: overheadMs / Math.max(batches.length, 1),
    noopHookSumMs,
    orchestrationPerBatchMs: (jobWallMs - noopHookSumMs) / Math.max(batches.length, 1),
    toClaimP50Ms: median(claimed.map((t) => claimAt(t) - Date.parse(t.startedAt!))),
    claimToResultP50Ms: median(claimed.map((t) => Date.parse(t.finishedAt!) - claimAt(t))),
  };
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;

export function table(rows: JobResult[], header: string, noopHookMs: number): string {
  const row = (label: string, cells: string[]) => label.padEnd(26) + cells.map((c) => c.padStart(13)).join('');
  return [
    header,
    row('', ['batches', 'job wall', 'baseline', 'vs baseline', 'runs', 'max history', 'tasks Σmax', 'ratio', 'orch/batch', 'to claim', 'claim→done']),
    ...rows.map((r) =>
      row(r.strategy, [
        String(r.batches),
        ms(r.jobWallMs),
        ms(r.baselineWallMs),
        `${r.ratioToBaseline.toFixed(2)}x`,
        String(r.runs),
        String(r.longestHistory),
        ms(r.slowestTaskSumMs),
        `${r.overheadRatio.toFixed(2)}x`,
        ms(r.orchestrationPerBatchMs),
        ms(r.toClaimP50Ms),
        ms(r.claimToResultP50Ms),
      ]),
    ),
    `baseline: a bare-Temporal job of the same shape (same activities, batches and agent queues, no-op bodies), run right after; vs baseline = job wall / baseline.`,
    `tasks Σmax: per batch the slowest task's startedAt→finishedAt, summed; ratio = job wall / tasks Σmax.`,
    `orch/batch: (job wall − batches × no-op hook ${ms(noopHookMs)}) / batches. to claim, claim→done: medians over tasks (ledger claim time).`,
  ].join('\n');
}

import type { Client } from '@temporalio/client';
import { SA } from '../domain/search-attributes';
import type { Logger } from '../platform/logger';
import { ENDED_KINDS, markIfEndedOutside, type EndedKind, type EndingDeps } from '../activities/ended-workflows';

/** Visibility is eventually consistent: each sweep looks back this far past the previous one's start. */
const VISIBILITY_LAG_MS = 60_000;
/** Visibility pages: the sweep reads closed runs a page at a time and costs one row read per run. */
const PAGE_SIZE = 100;

/**
 * Marks records whose workflow was ended outside Tollgate when nobody sends
 * them a command: one visibility query per sweep for runs of this worker's task
 * queue that closed cancelled, terminated, failed or timed out since the last
 * sweep (the first looks as far back as Temporal keeps closed runs), then the
 * record's row and its workflow's latest run, so a record already finished, or
 * started again by reconcile, is left alone. Replicas sweeping at once write
 * each mark once (activities/ended-workflows.ts).
 */
export function startEndedWorkflowSweep(options: { deps: EndingDeps; taskQueue: string; intervalMs: number; log: Logger }): { stop(): void } {
  const { deps, taskQueue, intervalMs, log } = options;
  let since: Date | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    running = sweepOnce(deps.client, deps, taskQueue, since)
      .then((next) => {
        since = next;
      })
      .catch((err) => log.warn({ err }, 'ended-workflow sweep failed; trying again at the next interval'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    // A sweep in flight is not waited for: closing the client ends its calls, and a mark it leaves half done the next command or sweep finishes.
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** One sweep; answers when it started, the next one's lower bound. */
export async function sweepOnce(client: Client, deps: EndingDeps, taskQueue: string, since: Date | undefined): Promise<Date> {
  const started = new Date();
  const kinds = ENDED_KINDS.map((k) => `'${k}'`).join(', ');
  const window = since ? ` AND CloseTime >= '${new Date(since.getTime() - VISIBILITY_LAG_MS).toISOString()}'` : '';
  const query = `TaskQueue = '${taskQueue.replace(/'/g, "''")}' AND ExecutionStatus IN ('Canceled', 'Terminated', 'Failed', 'TimedOut') AND ${SA.kind.name} IN (${kinds})${window}`;
  const seen = new Set<string>();
  for await (const execution of client.workflow.list({ query, pageSize: PAGE_SIZE })) {
    if (seen.has(execution.workflowId)) continue;
    seen.add(execution.workflowId);
    const tenantId = execution.typedSearchAttributes.get(SA.tenant);
    const kind = execution.typedSearchAttributes.get(SA.kind) as EndedKind | undefined;
    const id = execution.typedSearchAttributes.get(SA.resourceId);
    if (!tenantId || !kind || !id) continue;
    const ending = await markIfEndedOutside(deps, kind, tenantId, id);
    if (ending) deps.log.info({ kind, tenantId, id, ending }, 'marked a record whose workflow was ended outside Tollgate');
  }
  return started;
}

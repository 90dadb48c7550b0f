import type { EntityEvent } from '../draft';
import { endingText, ENDED_OUTSIDE_ACTION, type WorkflowEnding } from '../workflow-endings';
import { FINISHED_RUN_STATUSES, type RunStatus, type WorkflowRun } from './model';

/**
 * A run whose workflow was cancelled in Temporal is `cancelled`; one that was
 * terminated, failed or timed out is `failed`; its statusReason says how, by
 * whom and when. Nodes that had not finished end `cancelled` with the same
 * words: nothing will run them. A run is never resumed from its row (a new run
 * of the template is the way on), so there is no reconcile.
 */
export function markRunEnded(run: WorkflowRun, ending: WorkflowEnding, now: string): { next: WorkflowRun; events: EntityEvent[] } | null {
  if (FINISHED_RUN_STATUSES.includes(run.status)) return null;
  const status: RunStatus = ending.how === 'cancelled' ? 'cancelled' : 'failed';
  const statusReason = endingText(ending);
  const nodes = run.nodes.map((n) =>
    n.status === 'pending' || n.status === 'running' ? { ...n, status: 'cancelled' as const, endedAt: n.status === 'running' ? ending.at : n.endedAt, reason: `the run's ${statusReason}` } : n,
  );
  const next: WorkflowRun = { ...run, status, statusReason, nodes, endedAt: ending.at, updatedAt: now, version: run.version + 1 };
  const event: EntityEvent = {
    action: `workflow-run.${ENDED_OUTSIDE_ACTION}`,
    before: { status: run.status, version: run.version },
    after: { status, version: next.version, statusReason, workflow: ending },
  };
  return { next, events: [event] };
}

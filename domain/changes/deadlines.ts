import { DomainError } from '../errors';
import type { Change } from './model';
import { isWorkFinished } from './state-machine';

/**
 * The clock-driven rules of a change: which deadlines are pending (the
 * workflow sleeps until the next one) and whether work may start now.
 */

export type DeadlineKind = 'window_open' | 'window_overrun' | 'review_overdue';

/** The summary each deadline's durable timer carries, so the Temporal UI names it rather than showing a bare duration. */
export const DEADLINE_TIMER_SUMMARIES: Record<DeadlineKind, string> = {
  window_open: 'window opens',
  window_overrun: 'window ends',
  review_overdue: 'review deadline',
};

export function pendingDeadlines(change: Change): { kind: DeadlineKind; at: number }[] {
  const out: { kind: DeadlineKind; at: number }[] = [];
  if (['submitted', 'cab_review', 'scheduled'].includes(change.state) && change.scheduled_start && !change.window_opened_at) {
    out.push({ kind: 'window_open', at: Date.parse(change.scheduled_start) });
  }
  if (change.state === 'in_progress' && change.scheduled_end && !change.window_overrun) {
    out.push({ kind: 'window_overrun', at: Date.parse(change.scheduled_end) });
  }
  if (change.review_required && change.review_due_at && !change.reviewed_at && !change.review_overdue && isWorkFinished(change.state)) {
    out.push({ kind: 'review_overdue', at: Date.parse(change.review_due_at) });
  }
  return out.sort((a, b) => a.at - b.at);
}

export function dueDeadlines(change: Change, now: number) {
  return pendingDeadlines(change).filter((d) => d.at <= now);
}

export function nextDeadline(change: Change): { kind: DeadlineKind; at: number } | undefined {
  return pendingDeadlines(change)[0];
}

export function windowProblem(change: Change, now: string): DomainError | undefined {
  if (change.type === 'emergency') return undefined;
  if (!change.scheduled_start || !change.scheduled_end) {
    return new DomainError('rule', 'MAINTENANCE_WINDOW_REQUIRED', 'Work can start only inside a scheduled maintenance window; none is set');
  }
  const t = Date.parse(now);
  if (t < Date.parse(change.scheduled_start) || t >= Date.parse(change.scheduled_end)) {
    return new DomainError('rule', 'OUTSIDE_MAINTENANCE_WINDOW', `Work can start only between ${change.scheduled_start} and ${change.scheduled_end}`, {
      scheduled_start: change.scheduled_start,
      scheduled_end: change.scheduled_end,
      now,
    });
  }
  return undefined;
}

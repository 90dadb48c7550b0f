import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { cabProgress } from '../../domain/changes/cab';
import { decide } from '../../domain/changes/commands';
import type { ChangeCommand } from '../../domain/changes/requests';
import { DEADLINE_TIMER_SUMMARIES, nextDeadline } from '../../domain/changes/deadlines';
import type { Change, ChangeDecision } from '../../domain/changes/model';
import { withAssessedDecision } from '../../domain/changes/risk';
import { isTerminal } from '../../domain/changes/state-machine';
import { uiDetails } from '../../domain/ui-details';
import { Entity, ENTITY_ACTIVITY_OPTIONS, historyFull, showInUi, SYSTEM } from '../entity';
import {
  approveChange,
  cancelChange,
  createChange,
  getChange,
  patchChange,
  rejectChange,
  reviewChange,
  searchAttributesOf,
  submitCab,
  submitChange,
  type ChangeWorkflowInput,
  type ChangeWorkflowResult,
} from './messages';

const { persistChange, assessChangeRisk } = wf.proxyActivities<Activities>(ENTITY_ACTIVITY_OPTIONS);

/** A deadline command the database refused for good is tried again after this, or at the next command. */
const TICK_RETRY = '1 hour';

/**
 * One change request, from draft to closed, run by the entity loop
 * (workflows/entity.ts): decide → (assess risk) → persist → publish, one
 * command at a time, so the API's response and the next GET agree. Timers
 * mark the window opening, a window overrun and an overdue emergency review;
 * rescheduling simply moves the next deadline.
 */
export async function changeLifecycle(input: ChangeWorkflowInput): Promise<ChangeWorkflowResult> {
  const { tenantId, settings } = input;
  const now = () => new Date(Date.now()).toISOString();

  const entity = new Entity<Change, ChangeCommand, ChangeDecision>({
    initial: input.carried,
    decide: (current, command, meta) => decide(current, command, { now: now(), settings, actor: meta.actor, number: input.number }),
    // A decision that moved a risk input is assessed first: the persisted version, its audit rows and the answer carry the new score.
    async commit(decided, meta) {
      const label = `${decided.next.id} v${decided.next.version}`;
      let decision = decided;
      if (decided.rescore) {
        const { assessment, conflicts } = await assessChangeRisk.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Assess risk of ${label}` }, [
          { tenantId, change: decided.next, now: decided.next.updated_at },
        ]);
        decision = withAssessedDecision(decided, assessment, conflicts);
      }
      await persistChange.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist ${label}: ${decision.events.map((e) => e.action).join(', ')}` }, [
        { tenantId, change: decision.next, events: decision.events, actor: meta.actor, requestId: meta.requestId, assessed: decision.rescore },
      ]);
      return decision.next;
    },
    publish,
  });

  entity.bind(createChange, (body, meta) => [{ kind: 'create', input: body }, meta], 'Create the change (update-with-start)');
  entity.bind(patchChange, (body, meta) => [{ kind: 'patch', input: body }, meta], 'Edit fields and/or request a state transition');
  entity.bind(submitChange, (_body, meta) => [{ kind: 'submit' }, meta], 'draft → submitted (standard and emergency go on to scheduled)');
  entity.bind(submitCab, (body, meta) => [{ kind: 'submit_cab', input: body }, meta], 'submitted → cab_review');
  entity.bind(approveChange, (body, meta) => [{ kind: 'approve', input: body }, meta], 'A CAB approval; the last one needed schedules the change');
  entity.bind(rejectChange, (body, meta) => [{ kind: 'reject', input: body }, meta], 'A CAB rejection');
  entity.bind(cancelChange, (body, meta) => [{ kind: 'cancel', input: body }, meta], 'draft → cancelled');
  entity.bind(reviewChange, (body, meta) => [{ kind: 'review', input: body }, meta], 'Post-implementation review; closes the change');
  wf.setHandler(getChange, () => entity.current ?? null);

  if (!(await entity.created())) return { id: input.changeId, state: 'never_created' };

  for (;;) {
    const current = entity.current!;
    if (isTerminal(current.state)) break;
    if (historyFull(input.maxHistoryEvents)) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof changeLifecycle>({ ...input, carried: entity.current });
    }
    const deadline = nextDeadline(current);
    const moved = () => entity.current!.version !== current.version || historyFull(input.maxHistoryEvents);
    if (!deadline) {
      await wf.condition(moved);
      continue;
    }
    const wait = deadline.at - Date.now();
    if (wait > 0 && (await wf.condition(moved, wait, { summary: DEADLINE_TIMER_SUMMARIES[deadline.kind] }))) continue;
    try {
      await entity.execute({ kind: 'tick' }, SYSTEM);
    } catch (err) {
      // Activities retry until they succeed unless the database refused the change for good
      // (activities/db-failures.ts): that must not end the change, so wait for a command to move it.
      if (!(err instanceof wf.ActivityFailure)) throw err;
      wf.log.error('A deadline could not be recorded; waiting for the next command', { changeId: current.id, error: err.cause?.message ?? err.message });
      await wf.condition(moved, TICK_RETRY, { summary: 'retry a refused deadline' });
      continue;
    }
    // Guard against a timer that fired a hair early: never spin without progress.
    if (entity.current!.version === current.version) await wf.condition(moved, 1000, { summary: 'deadline re-check' });
  }
  await wf.condition(wf.allHandlersFinished);
  return { id: input.changeId, state: entity.current!.state };

  // Search attributes and the UI's "current details" follow every persisted version.
  function publish(c: Change): void {
    showInUi(searchAttributesOf(tenantId, c), details(c));
  }

  function details(c: Change): string {
    const progress = c.state === 'cab_review' ? cabProgress(c, settings) : undefined;
    const short = progress ? Math.max(0, progress.required - progress.approved) : 0;
    const next = nextDeadline(c);
    return uiDetails({
      state: `**${c.id}** · ${c.type} · **${c.state}** · risk ${c.risk_level} (${c.risk_score})`,
      missing: progress
        ? `${short} more CAB approval${short === 1 ? '' : 's'} (${progress.approved}/${progress.required})${progress.pending_approvers.length ? ` from ${progress.pending_approvers.join(', ')}` : ''}`
        : null,
      deadline: next ? `${next.kind.replace('_', ' ')} at ${new Date(next.at).toISOString()}` : null,
      more: [c.window_overrun && '⚠ Window overrun', c.review_overdue && '⚠ Post-implementation review overdue'],
    });
  }
}

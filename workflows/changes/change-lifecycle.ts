import * as wf from '@temporalio/workflow';
import type { SearchAttributeUpdatePair, UpdateDefinition } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import type { Activities } from '../../activities';
import { cabProgress } from '../../domain/changes/cab';
import { decide, withAssessedDecision, type Actor, type ChangeCommand } from '../../domain/changes/commands';
import { DEADLINE_TIMER_SUMMARIES, nextDeadline } from '../../domain/changes/deadlines';
import type { Change } from '../../domain/changes/model';
import { isTerminal } from '../../domain/changes/state-machine';
import { SA } from '../../domain/search-attributes';
import { rethrowAsFailure } from '../failures';
import {
  approveChange,
  cancelChange,
  createChange,
  getChange,
  patchChange,
  rejectChange,
  reviewChange,
  submitCab,
  submitChange,
  type ChangeWorkflowInput,
  type ChangeWorkflowResult,
  type CommandMeta,
} from './messages';

const ACTIVITY_OPTIONS: wf.ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
};
const { persistChange, assessChangeRisk } = wf.proxyActivities<Activities>(ACTIVITY_OPTIONS);

/** The system itself, for commands the workflow's own timers issue. */
const SYSTEM: CommandMeta = { actor: { userId: 'tollgate', permissions: [] } };
/** An update-with-start whose create was refused leaves an empty workflow; it gives up after this. */
const CREATE_GRACE = '5 minutes';
/** A deadline command the database refused for good is tried again after this, or at the next command. */
const TICK_RETRY = '1 hour';

/**
 * One change request, from draft to closed. Updates validate against the
 * domain rules before they enter history, then run one at a time under a
 * mutex: decide → (assess risk) → persist → answer, so the API's response and
 * the next GET agree. Timers mark the window opening, a window overrun and an
 * overdue emergency review; rescheduling simply moves the next deadline.
 */
export async function changeLifecycle(input: ChangeWorkflowInput): Promise<ChangeWorkflowResult> {
  let change: Change | undefined = input.carried;
  const lock = new Mutex();
  const now = () => new Date(Date.now()).toISOString();
  const context = (actor: Actor) => ({ now: now(), settings: input.settings, actor, number: input.number });

  const validate = (command: ChangeCommand, meta: CommandMeta) => {
    rethrowAsFailure(() => decide(change, command, context(meta.actor)));
  };

  const execute = (command: ChangeCommand, meta: CommandMeta): Promise<Change> =>
    lock.runExclusive(async () => {
      let decision = rethrowAsFailure(() => decide(change, command, context(meta.actor)));
      if (decision.events.length === 0) return decision.next;
      let next = decision.next;
      const label = `${next.id} v${next.version}`;
      if (decision.rescore) {
        const { assessment, conflicts } = await assessChangeRisk.executeWithOptions({ ...ACTIVITY_OPTIONS, summary: `Assess risk of ${label}` }, [
          { tenantId: input.tenantId, change: next, now: next.updated_at },
        ]);
        decision = withAssessedDecision(decision, assessment, conflicts);
        next = decision.next;
      }
      await persistChange.executeWithOptions({ ...ACTIVITY_OPTIONS, summary: `Persist ${label}: ${decision.events.map((e) => e.action).join(', ')}` }, [
        { tenantId: input.tenantId, change: next, events: decision.events, actor: meta.actor, requestId: meta.requestId, assessed: decision.rescore },
      ]);
      // Only a persisted version becomes the change: an activity that fails for good (a value
      // Postgres refuses) fails this update alone and leaves the change as it was for the next command.
      change = next;
      publish(next);
      return next;
    });

  const bind = <Args extends unknown[]>(
    definition: UpdateDefinition<Change, Args>,
    toCommand: (...args: Args) => [ChangeCommand, CommandMeta],
    description: string,
  ) =>
    wf.setHandler(definition, (...args: Args) => execute(...toCommand(...args)), {
      validator: (...args: Args) => validate(...toCommand(...args)),
      description,
    });

  bind(createChange, (body, meta) => [{ kind: 'create', input: body }, meta], 'Create the change (update-with-start)');
  bind(patchChange, (body, meta) => [{ kind: 'patch', input: body }, meta], 'Edit fields and/or request a state transition');
  bind(submitChange, (_body, meta) => [{ kind: 'submit' }, meta], 'draft → submitted (standard and emergency go on to scheduled)');
  bind(submitCab, (body, meta) => [{ kind: 'submit_cab', input: body }, meta], 'submitted → cab_review');
  bind(approveChange, (body, meta) => [{ kind: 'approve', input: body }, meta], 'A CAB approval; the last one needed schedules the change');
  bind(rejectChange, (body, meta) => [{ kind: 'reject', input: body }, meta], 'A CAB rejection');
  bind(cancelChange, (body, meta) => [{ kind: 'cancel', input: body }, meta], 'draft → cancelled');
  bind(reviewChange, (body, meta) => [{ kind: 'review', input: body }, meta], 'Post-implementation review; closes the change');
  wf.setHandler(getChange, () => change ?? null);

  if (change) publish(change);
  else if (!(await wf.condition(() => change !== undefined, CREATE_GRACE, { summary: 'create grace' }))) return { id: input.changeId, state: 'never_created' };

  const historyFull = () => {
    const info = wf.workflowInfo();
    return info.continueAsNewSuggested || (input.maxHistoryEvents !== undefined && info.historyLength > input.maxHistoryEvents);
  };

  for (;;) {
    const current = change!;
    if (isTerminal(current.state)) break;
    if (historyFull()) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof changeLifecycle>({ ...input, carried: change });
    }
    const deadline = nextDeadline(current);
    const moved = () => change!.version !== current.version || historyFull();
    if (!deadline) {
      await wf.condition(moved);
      continue;
    }
    const wait = deadline.at - Date.now();
    if (wait > 0 && (await wf.condition(moved, wait, { summary: DEADLINE_TIMER_SUMMARIES[deadline.kind] }))) continue;
    try {
      await execute({ kind: 'tick' }, SYSTEM);
    } catch (err) {
      // Activities retry until they succeed unless the database refused the change for good
      // (activities/db-failures.ts): that must not end the change, so wait for a command to move it.
      if (!(err instanceof wf.ActivityFailure)) throw err;
      wf.log.error('A deadline could not be recorded; waiting for the next command', { changeId: current.id, error: err.cause?.message ?? err.message });
      await wf.condition(moved, TICK_RETRY, { summary: 'retry a refused deadline' });
      continue;
    }
    // Guard against a timer that fired a hair early: never spin without progress.
    if (change!.version === current.version) await wf.condition(moved, 1000, { summary: 'deadline re-check' });
  }
  await wf.condition(wf.allHandlersFinished);
  return { id: input.changeId, state: change!.state };

  // Search attributes and the UI's "current details" follow every persisted version.
  // Only attributes whose value moved are upserted: each upsert is a history event and a visibility write.
  function publish(c: Change): void {
    const flags = [...(c.window_overrun ? ['window_overrun'] : []), ...(c.review_overdue ? ['review_overdue'] : [])];
    const wanted: SearchAttributeUpdatePair[] = [
      { key: SA.tenant, value: input.tenantId },
      { key: SA.kind, value: 'change' },
      { key: SA.resourceId, value: c.id },
      { key: SA.state, value: c.state },
      { key: SA.type, value: c.type },
      { key: SA.riskLevel, value: c.risk_level },
      { key: SA.assignmentGroup, value: c.assignment_group ?? null },
      { key: SA.flags, value: flags.length ? flags : null },
    ];
    // workflowInfo() reflects the start options and every upsert so far, in this run.
    const current = wf.workflowInfo().typedSearchAttributes;
    const moved = wanted.filter(({ key, value }) => JSON.stringify(current.get(key) ?? null) !== JSON.stringify(value));
    if (moved.length) wf.upsertSearchAttributes(moved);
    wf.setCurrentDetails(details(c));
  }

  function details(c: Change): string {
    const lines = [`**${c.id}** · ${c.type} · **${c.state}** · risk ${c.risk_level} (${c.risk_score})`];
    if (c.state === 'cab_review') {
      const progress = cabProgress(c, input.settings);
      lines.push(`Approvals: ${progress.approved}/${progress.required}${progress.pending_approvers.length ? ` · waiting for ${progress.pending_approvers.join(', ')}` : ''}`);
    }
    const next = nextDeadline(c);
    if (next) lines.push(`Next deadline: ${next.kind.replace('_', ' ')} at ${new Date(next.at).toISOString()}`);
    if (c.window_overrun) lines.push('⚠ Window overrun');
    if (c.review_overdue) lines.push('⚠ Post-implementation review overdue');
    return lines.join('\n\n');
  }
}

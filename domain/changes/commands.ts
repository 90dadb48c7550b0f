import { Draft } from '../draft';
import { DomainError } from '../errors';
import { approve, reject } from './cab';
import { dueDeadlines } from './deadlines';
import { review, submit, submitCab } from './lifecycle';
import { RISK_INPUT_FIELDS, type Change, type ChangeDecision, type DecideContext } from './model';
import { newChange } from './new-change';
import { patch } from './patch';
import { authorize } from './permissions';
import type { ChangeCommand, CreateChangeInput } from './requests';
import { checkSchedule } from './schedule';
import { transition } from './transition';

/**
 * Every change rule, written once. The workflow's update validators call
 * `decide` to refuse a command before it enters history; its handlers call it
 * again under the workflow's lock (state may have moved meanwhile) and apply
 * the result. Pure: time, the actor and settings come in as arguments. Every
 * command is authorized here first (permissions.ts), so no route or PATCH
 * body can reach a rule its caller may not invoke.
 *
 * The steps live in files named for what they hold: lifecycle.ts (submit to
 * close), cab.ts (approve, reject), patch.ts (field edits and PATCH's state
 * moves), new-change.ts (a create's change) and risk.ts (an assessment applied).
 */

export function decide(current: Change | undefined, command: ChangeCommand, ctx: DecideContext): ChangeDecision {
  if (command.kind === 'create') {
    authorize(undefined, command, ctx.actor);
    if (current) throw new DomainError('invalid_state', 'ALREADY_EXISTS', `Change ${current.id} already exists`);
    return create(command.input, ctx);
  }
  if (!current) throw new DomainError('not_found', 'NOT_FOUND', 'The change does not exist yet');
  authorize(current, command, ctx.actor);
  const draft = new Draft(current);
  switch (command.kind) {
    case 'patch':
      patch(draft, command.input, ctx);
      break;
    case 'submit':
      submit(draft, ctx);
      break;
    case 'submit_cab':
      submitCab(draft, command.input);
      break;
    case 'approve':
      approve(draft, command.input.comment ?? null, ctx);
      break;
    case 'reject':
      reject(draft, command.input.reason, command.input.comment ?? null, ctx);
      break;
    case 'cancel':
      transition(draft, 'cancelled', 'change.cancel', { cancelled_at: ctx.now });
      break;
    case 'review':
      review(draft, command.input, ctx);
      break;
    case 'tick':
      tick(draft, ctx);
      break;
  }
  return result(draft, ctx);
}

/** A command's edits as the next version, and whether they moved a risk input (so the risk is assessed again). */
function result(draft: Draft<Change>, ctx: DecideContext): ChangeDecision {
  if (!draft.changed) return { next: draft.original, events: [], rescore: false };
  const rescore = RISK_INPUT_FIELDS.some((f) => JSON.stringify(draft.original[f]) !== JSON.stringify(draft.value[f]));
  return { next: { ...draft.value, updated_at: ctx.now, version: draft.original.version + 1 }, events: draft.events, rescore };
}

function create(input: CreateChangeInput, ctx: DecideContext): ChangeDecision {
  if (ctx.number === undefined) throw new DomainError('invalid_input', 'NUMBER_REQUIRED', 'A change number must be allocated');
  checkSchedule(input.scheduled_start ?? null, input.scheduled_end ?? null);
  const change = newChange(input, ctx.number, ctx);
  return { next: change, events: [{ action: 'change.create', before: null, after: { ...change } }], rescore: true };
}

/** Deadlines the workflow's timers fire for. */
function tick(draft: Draft<Change>, ctx: DecideContext): void {
  const change = draft.value;
  const now = Date.parse(ctx.now);
  for (const due of dueDeadlines(change, now)) {
    if (due.kind === 'window_open') draft.apply('change.window_opened', { window_opened_at: change.scheduled_start });
    if (due.kind === 'window_overrun') draft.apply('change.window_overrun', { window_overrun: true });
    if (due.kind === 'review_overdue') draft.apply('change.review_overdue', { review_overdue: true });
  }
}

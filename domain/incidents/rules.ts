import type { Actor } from '../actor';
import { DomainError } from '../errors';
import type { Incident, IncidentState } from './model';
import { priorityFor, type PriorityMatrix } from './priority';
import type { CreateIncidentInput, PatchIncidentInput } from './requests';
import { allowedNextStates, canTransition, isTerminal, transitionAction } from './state-machine';

/**
 * Every incident rule, written once: the API's handlers and the bulk job both
 * decide through these, inside the transaction that holds the row. Pure:
 * time, the caller and the priority matrix come in as arguments.
 */

export interface IncidentContext {
  now: string;
  actor: Pick<Actor, 'userId' | 'email'>;
  matrix: PriorityMatrix;
}

export interface IncidentEvent {
  action: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown>;
}

export interface IncidentDecision {
  next: Incident;
  events: IncidentEvent[];
  /** State or priority moved: the SLA clock must hear of it. */
  clockMoved: boolean;
  /** change_id moved: both changes' histories get a row. */
  changeLink?: { from: string | null; to: string | null };
}

/** Fields of a request that are not incident fields. */
type RequestOnly = 'notify_stakeholders' | 'work_note' | 'state' | 'resolution_notes';
type EditableField = Exclude<keyof PatchIncidentInput, RequestOnly>;

export function createIncident(input: CreateIncidentInput, id: string, ctx: IncidentContext): IncidentDecision {
  const impact = input.impact ?? null;
  const urgency = input.urgency ?? null;
  const created: Incident = {
    id,
    number: id,
    short_description: input.short_description,
    description: input.description ?? null,
    priority: input.priority ?? priorityFor(impact, urgency, ctx.matrix),
    state: 'new',
    category: input.category ?? null,
    subcategory: input.subcategory ?? null,
    impact,
    urgency,
    assignment_group: input.assignment_group ?? null,
    assigned_to: input.assigned_to ?? null,
    opened_by: ctx.actor.email ?? ctx.actor.userId,
    ci_id: input.ci_id ?? null,
    parent_problem_id: input.parent_problem_id ?? null,
    change_id: input.change_id ?? null,
    sla_breach_at: null,
    resolved_at: null,
    closed_at: null,
    created_at: ctx.now,
    updated_at: ctx.now,
    work_notes_count: 0,
    ai_suggested_resolution: null,
    resolution_notes: null,
    sla_breached: false,
    sla: null,
    version: 1,
  };
  // A new incident may start further along, if one legal step from new gets it there.
  const incident = input.state && input.state !== 'new' ? { ...created, ...moveTo(created, input.state, ctx.now) } : created;
  return {
    next: incident,
    events: [{ action: 'incident.create', before: null, after: { ...incident } }],
    clockMoved: true,
    changeLink: incident.change_id ? { from: null, to: incident.change_id } : undefined,
  };
}

export function patchIncident(current: Incident, input: PatchIncidentInput, ctx: IncidentContext): IncidentDecision {
  const { state: target, work_note: _note, notify_stakeholders: _notify, resolution_notes: resolution, ...fields } = input;
  const editing = Object.keys(fields).length > 0 || resolution !== undefined || (target !== undefined && target !== current.state);
  if (editing && isTerminal(current.state)) {
    throw new DomainError('invalid_state', 'INCIDENT_CLOSED', `A ${current.state} incident cannot be changed; add a work note instead`, {
      current_state: current.state,
      allowed_next_states: [],
    });
  }
  const events: IncidentEvent[] = [];
  let next: Incident = { ...current };

  const edits: Partial<Incident> = {};
  for (const key of Object.keys(fields) as EditableField[]) {
    if (key === 'short_description' || key === 'priority') {
      if (fields[key] !== undefined) (edits as Record<string, unknown>)[key] = fields[key];
    } else {
      (edits as Record<string, unknown>)[key] = fields[key] ?? null;
    }
  }
  // Impact or urgency moved and no priority was sent: the matrix decides again.
  if (fields.priority === undefined && ('impact' in fields || 'urgency' in fields)) {
    const impact = 'impact' in edits ? (edits.impact ?? null) : current.impact;
    const urgency = 'urgency' in edits ? (edits.urgency ?? null) : current.urgency;
    if (impact && urgency) edits.priority = priorityFor(impact, urgency, ctx.matrix);
  }
  const changed = diff(next, edits);
  if (changed) {
    events.push({ action: 'incident.update', ...changed });
    next = { ...next, ...edits };
  }

  if (target !== undefined && target !== next.state) {
    const moved = moveTo(next, target, ctx.now);
    const delta = diff(next, moved);
    events.push({ action: transitionAction(next.state, target), before: delta?.before ?? { state: next.state }, after: delta?.after ?? { state: target } });
    next = { ...next, ...moved };
  }

  if (resolution !== undefined) {
    if (next.state !== 'resolved' && next.state !== 'closed') {
      throw new DomainError('invalid_state', 'INCIDENT_NOT_RESOLVED', `Resolution notes are written when an incident is resolved; this one is ${next.state}`, {
        current_state: current.state,
        allowed_next_states: allowedNextStates(current.state),
      });
    }
    const delta = diff(next, { resolution_notes: resolution });
    if (delta) {
      events.push({ action: 'incident.resolution', ...delta });
      next = { ...next, resolution_notes: resolution };
    }
  }

  if (events.length === 0) return { next: current, events, clockMoved: false };
  next = { ...next, updated_at: ctx.now, version: current.version + 1 };
  return {
    next,
    events,
    clockMoved: next.state !== current.state || next.priority !== current.priority,
    changeLink: next.change_id !== current.change_id ? { from: current.change_id, to: next.change_id } : undefined,
  };
}

/** The fields a legal transition sets; an illegal one is a 409 naming what is allowed. */
function moveTo(incident: Incident, to: IncidentState, now: string): Partial<Incident> {
  if (!canTransition(incident.state, to)) {
    throw new DomainError('invalid_state', 'INVALID_STATE_TRANSITION', `An incident cannot go from ${incident.state} to ${to}`, {
      current_state: incident.state,
      allowed_next_states: allowedNextStates(incident.state),
      requested_state: to,
    });
  }
  const patch: Partial<Incident> = { state: to };
  if (to === 'resolved') patch.resolved_at = now;
  if (to === 'closed') patch.closed_at = now;
  // A reopened incident's resolution did not hold: it is no longer what fixed it (the audit keeps it).
  if (to === 'reopened') Object.assign(patch, { resolved_at: null, resolution_notes: null });
  return patch;
}

function diff(current: Incident, patch: Partial<Incident>): { before: Record<string, unknown>; after: Record<string, unknown> } | undefined {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const old = (current as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(old) === JSON.stringify(value)) continue;
    before[key] = old;
    after[key] = value;
  }
  return Object.keys(after).length ? { before, after } : undefined;
}

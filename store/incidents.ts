import { randomBytes } from 'node:crypto';
import { DomainError } from '../domain/errors';
import type { Attachment, Incident, IncidentNote, IncidentSla } from '../domain/incidents/model';
import type { PriorityMatrix } from '../domain/incidents/priority';
import type { CreateIncidentInput, CreateNoteInput, PatchIncidentInput } from '../domain/incidents/requests';
import { createIncident, patchIncident, type IncidentDecision, type IncidentEvent } from '../domain/incidents/rules';
import { slaAfterWrite, type SlaEvent } from '../domain/incidents/sla';
import type { SlaPolicy } from '../domain/incidents/sla-policy';
import { recordAudit } from '../platform/audit';
import type { Pool, PoolClient } from '../platform/db';

/**
 * The incident's persistence, shared by the API's handlers and the bulk job's
 * activity so both write through the same rules. Each function runs inside the
 * caller's transaction and locks the row it changes, so concurrent writes
 * (twenty notes at once) serialise on it and every count stays exact. Every
 * write leaves audit rows; state and priority changes leave an SLA timeline entry.
 */

type Db = Pool | PoolClient;

/** Who writes, when, and the rules configured for the tenant. */
export interface Writer {
  tenantId: string;
  actor: { userId: string; email?: string };
  requestId?: string;
  now: string;
  matrix: PriorityMatrix;
  /** The SLA policy the write answers its clock with (the one its signal carries to the workflow). */
  policy: SlaPolicy;
}

export interface IncidentWrite {
  incident: Incident;
  decision: IncidentDecision;
  note?: IncidentNote;
  /** False when the write found its work already done (a retried create). */
  applied: boolean;
}

export const INCIDENT_COLUMNS = `id, version, short_description, description, priority, state, category, subcategory, impact, urgency,
  assignment_group, assigned_to, opened_by, ci_id, parent_problem_id, change_id, sla_breach_at, sla_breached, sla,
  resolved_at, closed_at, created_at, updated_at, work_notes_count, ai_suggested_resolution, resolution_notes`;

const iso = (v: Date | string | null | undefined) => (v == null ? null : new Date(v).toISOString());

/** A row as the API serves it, fields in the spec's order. */
export function presentIncident(row: Record<string, any>): Incident {
  return {
    id: row.id,
    number: row.id,
    short_description: row.short_description,
    description: row.description,
    priority: row.priority,
    state: row.state,
    category: row.category,
    subcategory: row.subcategory,
    impact: row.impact,
    urgency: row.urgency,
    assignment_group: row.assignment_group,
    assigned_to: row.assigned_to,
    opened_by: row.opened_by,
    ci_id: row.ci_id,
    parent_problem_id: row.parent_problem_id,
    change_id: row.change_id,
    sla_breach_at: iso(row.sla_breach_at),
    resolved_at: iso(row.resolved_at),
    closed_at: iso(row.closed_at),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
    work_notes_count: row.work_notes_count,
    ai_suggested_resolution: row.ai_suggested_resolution,
    resolution_notes: row.resolution_notes ?? null,
    sla_breached: row.sla_breached,
    sla: (row.sla as IncidentSla | null) ?? null,
    version: row.version,
  };
}

export function presentNote(row: Record<string, any>): IncidentNote {
  return {
    id: row.id,
    incident_id: row.incident_id,
    body: row.body,
    visibility: row.visibility,
    author: row.author,
    attachments: row.attachments as Attachment[],
    created_at: iso(row.created_at)!,
  };
}

export const NOTE_COLUMNS = 'id, incident_id, body, visibility, author, attachments, created_at';

/** A live (not deleted) incident of the tenant. */
export async function findIncident(db: Db, tenantId: string, id: string): Promise<Incident | undefined> {
  const { rows } = await db.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, [tenantId, id]);
  return rows[0] ? presentIncident(rows[0]) : undefined;
}

async function lockIncident(db: PoolClient, tenantId: string, id: string): Promise<Incident> {
  const { rows } = await db.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, [tenantId, id]);
  if (!rows[0]) throw new DomainError('not_found', 'NOT_FOUND', `Incident ${id} not found`);
  return presentIncident(rows[0]);
}

/** Takes the next incident number of the tenant from its Postgres sequence. */
export async function allocateIncidentNumber(db: Db, tenantId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT next_resource_number($1, 'incident') AS n", [tenantId]);
  return rows[0].n;
}

export async function insertIncident(db: PoolClient, w: Writer, input: CreateIncidentInput, id: string): Promise<IncidentWrite> {
  if (input.change_id) await requireChange(db, w.tenantId, input.change_id);
  const decision = createIncident(input, id, { now: w.now, actor: w.actor, matrix: w.matrix });
  const i = decision.next;
  const inserted = await db.query(
    `INSERT INTO incidents (tenant_id, id, number, version, short_description, description, priority, state, category, subcategory,
        impact, urgency, assignment_group, assigned_to, opened_by, opened_by_id, ci_id, parent_problem_id, change_id,
        resolved_at, closed_at, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)
     ON CONFLICT (tenant_id, id) DO NOTHING`,
    [
      w.tenantId, i.id, Number(i.id.slice(3)), i.version, i.short_description, i.description, i.priority, i.state, i.category, i.subcategory,
      i.impact, i.urgency, i.assignment_group, i.assigned_to, i.opened_by, w.actor.userId, i.ci_id, i.parent_problem_id, i.change_id,
      i.resolved_at, i.closed_at, i.created_at, i.updated_at,
    ],
  );
  if (!inserted.rowCount) {
    // The id was taken by an earlier attempt of the same keyed request: that incident is the answer.
    const existing = await findIncident(db, w.tenantId, id);
    if (!existing) throw new DomainError('not_found', 'NOT_FOUND', `Incident ${id} was deleted`);
    return { incident: existing, decision: { next: existing, events: [], clockMoved: false }, applied: false };
  }
  await recordSlaEvent(db, w.tenantId, i);
  const withSla = await writeSla(db, w, i);
  await writeAudit(db, w, i, decision);
  return { incident: withSla, decision, applied: true };
}

export async function updateIncident(db: PoolClient, w: Writer, id: string, input: PatchIncidentInput): Promise<IncidentWrite> {
  const current = await lockIncident(db, w.tenantId, id);
  const decision = patchIncident(current, input, { now: w.now, actor: w.actor, matrix: w.matrix });
  if (decision.changeLink?.to) await requireChange(db, w.tenantId, decision.changeLink.to);
  let next = decision.next;
  const note = input.work_note ? newNote(w, id, { body: input.work_note }) : undefined;
  if (note) next = { ...next, work_notes_count: current.work_notes_count + 1, updated_at: w.now, version: current.version + 1 };
  if (next === current) return { incident: current, decision, applied: false };
  // The note's row first: the incident's note search text is computed from its notes (db/migrations/013).
  if (note) await insertNoteRow(db, w, note);
  await db.query(
    `UPDATE incidents SET version = $3, short_description = $4, description = $5, priority = $6, state = $7, category = $8,
        subcategory = $9, impact = $10, urgency = $11, assignment_group = $12, assigned_to = $13, ci_id = $14,
        parent_problem_id = $15, change_id = $16, resolved_at = $17, closed_at = $18, updated_at = $19, work_notes_count = $20,
        notes_search = CASE WHEN $21 THEN incident_notes_search($1, $2) ELSE notes_search END, resolution_notes = $22
      WHERE tenant_id = $1 AND id = $2`,
    [
      w.tenantId, id, next.version, next.short_description, next.description, next.priority, next.state, next.category,
      next.subcategory, next.impact, next.urgency, next.assignment_group, next.assigned_to, next.ci_id,
      next.parent_problem_id, next.change_id, next.resolved_at, next.closed_at, next.updated_at, next.work_notes_count,
      note !== undefined, next.resolution_notes,
    ],
  );
  if (note) await auditNote(db, w, note);
  if (decision.clockMoved) {
    await recordSlaEvent(db, w.tenantId, next);
    next = await writeSla(db, w, next);
  }
  await writeAudit(db, w, next, decision);
  return { incident: next, decision, note, applied: true };
}

export async function addNote(db: PoolClient, w: Writer, id: string, input: CreateNoteInput): Promise<{ note: IncidentNote; incident: Incident }> {
  const current = await lockIncident(db, w.tenantId, id);
  const note = newNote(w, id, input);
  await insertNoteRow(db, w, note);
  const { rows } = await db.query(
    `UPDATE incidents SET work_notes_count = work_notes_count + 1, version = version + 1, updated_at = $3,
        notes_search = incident_notes_search($1, $2)
      WHERE tenant_id = $1 AND id = $2 RETURNING ${INCIDENT_COLUMNS}`,
    [w.tenantId, id, w.now],
  );
  await auditNote(db, w, note);
  return { note, incident: rows[0] ? presentIncident(rows[0]) : current };
}

export async function softDeleteIncident(db: PoolClient, w: Writer, id: string): Promise<Incident> {
  const current = await lockIncident(db, w.tenantId, id);
  await db.query('UPDATE incidents SET deleted_at = $3, deleted_by = $4 WHERE tenant_id = $1 AND id = $2', [w.tenantId, id, w.now, w.actor.email ?? w.actor.userId]);
  await audit(db, w, id, { action: 'incident.delete', before: { deleted: false }, after: { deleted: true, deleted_at: w.now } });
  if (current.change_id) await auditChange(db, w, current.change_id, 'incident.unlinked', current);
  return current;
}

/** Open P1/P2 incidents on a CI, for a change's risk (served by incidents_open_urgent_ci_idx). */
export async function openUrgentIncidentIds(db: Db, tenantId: string, ciId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM incidents
      WHERE tenant_id = $1 AND ci_id = $2 AND deleted_at IS NULL AND priority IN ('P1', 'P2') AND state IN ('new', 'in_progress', 'on_hold', 'reopened')
      ORDER BY id LIMIT 20`,
    [tenantId, ciId],
  );
  return rows.map((r) => r.id);
}

/** The newest entries of an incident's SLA timeline, oldest first. */
export async function latestSlaEvents(db: Db, tenantId: string, id: string, limit: number): Promise<SlaEvent[]> {
  const { rows } = await db.query(
    'SELECT version, state, priority, at FROM incident_sla_events WHERE tenant_id = $1 AND incident_id = $2 ORDER BY version DESC LIMIT $3',
    [tenantId, id, limit],
  );
  return rows.reverse().map((r) => ({ version: r.version, state: r.state, priority: r.priority, at: iso(r.at)! }));
}

/**
 * The clock as it stands after this write, from the whole timeline, so the
 * answer is never a step behind the workflow. Its version is above any the
 * workflow wrote so far (the row is locked and this timeline is the newest);
 * the workflow's own recomputation after the signal lands later still.
 */
async function writeSla(db: PoolClient, w: Writer, i: Incident): Promise<Incident> {
  const { rows } = await db.query(
    'SELECT version, state, priority, at FROM incident_sla_events WHERE tenant_id = $1 AND incident_id = $2 ORDER BY version',
    [w.tenantId, i.id],
  );
  const timeline: SlaEvent[] = rows.map((r) => ({ version: r.version, state: r.state, priority: r.priority, at: iso(r.at)! }));
  const sla = slaAfterWrite(timeline, w.policy, Date.parse(w.now), i.sla);
  const breached = i.sla_breached || sla.response_breached || sla.resolution_breached;
  await db.query(
    `UPDATE incidents SET sla = $3, sla_breach_at = $4, sla_breached = $5, sla_version = GREATEST(sla_version + 1, $6)
      WHERE tenant_id = $1 AND id = $2`,
    [w.tenantId, i.id, JSON.stringify(sla), sla.resolution_due_at, breached, Date.parse(w.now)],
  );
  return { ...i, sla, sla_breach_at: sla.resolution_due_at, sla_breached: breached };
}

async function recordSlaEvent(db: PoolClient, tenantId: string, i: Incident): Promise<void> {
  await db.query('INSERT INTO incident_sla_events (tenant_id, incident_id, version, state, priority, at) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING', [
    tenantId, i.id, i.version, i.state, i.priority, i.updated_at,
  ]);
}

function newNote(w: Writer, incidentId: string, input: CreateNoteInput): IncidentNote {
  return {
    id: `note_${randomBytes(10).toString('hex')}`,
    incident_id: incidentId,
    body: input.body,
    visibility: input.visibility ?? 'team',
    author: w.actor.email ?? w.actor.userId,
    attachments: (input.attachments ?? []).map((a) => ({ name: a.name, url: a.url ?? null, content_type: a.content_type ?? null, size_bytes: a.size_bytes ?? null })),
    created_at: w.now,
  };
}

async function insertNoteRow(db: PoolClient, w: Writer, note: IncidentNote): Promise<void> {
  await db.query(
    `INSERT INTO incident_notes (tenant_id, incident_id, id, body, visibility, author, author_id, attachments, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
    [w.tenantId, note.incident_id, note.id, note.body, note.visibility, note.author, w.actor.userId, JSON.stringify(note.attachments), note.created_at],
  );
}

async function auditNote(db: PoolClient, w: Writer, note: IncidentNote): Promise<void> {
  await audit(db, w, note.incident_id, { action: 'incident.note', before: null, after: { note_id: note.id, visibility: note.visibility, attachments: note.attachments.length } });
}

async function writeAudit(db: PoolClient, w: Writer, incident: Incident, decision: IncidentDecision): Promise<void> {
  for (const event of decision.events) await audit(db, w, incident.id, event);
  const link = decision.changeLink;
  if (link?.from) await auditChange(db, w, link.from, 'incident.unlinked', incident);
  if (link?.to) await auditChange(db, w, link.to, 'incident.linked', incident);
}

async function audit(db: PoolClient, w: Writer, id: string, event: IncidentEvent): Promise<void> {
  await recordAudit(db, {
    tenantId: w.tenantId,
    actor: w.actor.email ?? w.actor.userId,
    action: event.action,
    resourceType: 'incident',
    resourceId: id,
    before: event.before,
    after: event.after,
    requestId: w.requestId,
    occurredAt: w.now,
  });
}

/** A linked change's own trail shows the incident (GET /changes/{id}/history reads it). */
async function auditChange(db: PoolClient, w: Writer, changeId: string, action: string, incident: Incident): Promise<void> {
  const summary = { incident_id: incident.id, short_description: incident.short_description, priority: incident.priority, state: incident.state };
  await recordAudit(db, {
    tenantId: w.tenantId,
    actor: w.actor.email ?? w.actor.userId,
    action,
    resourceType: 'change',
    resourceId: changeId,
    before: action === 'incident.unlinked' ? summary : null,
    after: action === 'incident.linked' ? summary : { incident_id: incident.id },
    requestId: w.requestId,
    occurredAt: w.now,
  });
}

async function requireChange(db: PoolClient, tenantId: string, changeId: string): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM changes WHERE tenant_id = $1 AND id = $2', [tenantId, changeId]);
  if (!rowCount) throw new DomainError('rule', 'UNKNOWN_CHANGE', `No change ${changeId} in this tenant to link the incident to`, { change_id: changeId });
}

import { entityEventsInsert } from '../../platform/audit';
import type { Actor } from '../../domain/actor';
import type { EntityEvent } from '../../domain/draft';
import { changeResource } from '../../domain/changes/cab';
import type { Change } from '../../domain/changes/model';
import type { ActivityDeps } from '../deps';

export interface PersistChangeInput {
  tenantId: string;
  change: Change;
  events: EntityEvent[];
  actor: Actor;
  requestId?: string;
  /** The change was assessed again in this version: keep the assessment in the history. */
  assessed: boolean;
}

/**
 * Writes the change's read-model row, its risk history and its audit rows in
 * one statement (data-modifying CTEs: atomic, and one round trip instead of a
 * transaction's five or more). `WHERE version < new` means a retried or late
 * attempt can never roll the row back, and audit dedupe keys make the retry
 * write nothing twice.
 */
export function persistChangeActivity(deps: ActivityDeps) {
  return async function persistChange(input: PersistChangeInput): Promise<{ written: boolean }> {
    const { tenantId, change } = input;
    const params: unknown[] = [
      tenantId, change.id, change.number, change.version, change.type, change.state, change.short_description, change.description,
      change.risk, change.risk_score, change.risk_level, change.implementation_plan, change.backout_plan, change.test_plan,
      change.assignment_group, change.assigned_to, change.ci_id, change.scheduled_start, change.scheduled_end, change.actual_start,
      change.actual_end, change.outcome, change.requested_by, change.review_overdue, change.window_overrun, change.closed_at,
      change.created_at, change.updated_at, JSON.stringify(changeResource(change)),
    ];
    let risk = '';
    if (input.assessed) {
      const a = change.risk_assessment;
      const at = params.length + 1;
      params.push(a.model_version, a.risk_score, a.risk_level, JSON.stringify(a.factors), a.recommendation, JSON.stringify(change.conflicts), a.assessed_at);
      risk = `, risk AS (
        INSERT INTO change_risk_assessments (tenant_id, change_id, change_version, model_version, risk_score, risk_level, factors, recommendation, conflicts, assessed_at)
        VALUES ($1,$2,$4,$${at},$${at + 1},$${at + 2},$${at + 3},$${at + 4},$${at + 5},$${at + 6}) ON CONFLICT DO NOTHING)`;
    }
    const audit = entityEventsInsert(
      {
        tenantId,
        resourceType: 'change',
        resourceId: change.id,
        versionTag: String(change.version),
        events: input.events,
        actor: input.actor,
        requestId: input.requestId,
        occurredAt: change.updated_at,
      },
      params.length + 1,
    );
    params.push(...audit.params);
    const { rows } = await deps.pool.query(
      `WITH row AS (
         INSERT INTO changes (tenant_id, id, number, version, type, state, short_description, description, risk, risk_score, risk_level,
            implementation_plan, backout_plan, test_plan, assignment_group, assigned_to, ci_id, scheduled_start, scheduled_end,
            actual_start, actual_end, outcome, requested_by, review_overdue, window_overrun, closed_at, created_at, updated_at, body)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
           version = EXCLUDED.version, type = EXCLUDED.type, state = EXCLUDED.state,
           short_description = EXCLUDED.short_description, description = EXCLUDED.description, risk = EXCLUDED.risk,
           risk_score = EXCLUDED.risk_score, risk_level = EXCLUDED.risk_level, implementation_plan = EXCLUDED.implementation_plan,
           backout_plan = EXCLUDED.backout_plan, test_plan = EXCLUDED.test_plan, assignment_group = EXCLUDED.assignment_group,
           assigned_to = EXCLUDED.assigned_to, ci_id = EXCLUDED.ci_id, scheduled_start = EXCLUDED.scheduled_start,
           scheduled_end = EXCLUDED.scheduled_end, actual_start = EXCLUDED.actual_start, actual_end = EXCLUDED.actual_end,
           outcome = EXCLUDED.outcome, requested_by = EXCLUDED.requested_by, review_overdue = EXCLUDED.review_overdue,
           window_overrun = EXCLUDED.window_overrun, closed_at = EXCLUDED.closed_at, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body
         WHERE changes.version < EXCLUDED.version
         RETURNING 1)${risk}, audit AS (${audit.sql})
       SELECT count(*)::int AS written FROM row`,
      params,
    );
    return { written: rows[0].written > 0 };
  };
}

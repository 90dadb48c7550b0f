import { assessRisk } from '../../domain/changes/risk';
import type { Change, ChangeConflict, RiskAssessment } from '../../domain/changes/model';
import { WINDOW_RELEASED_STATES } from '../../domain/changes/state-machine';
import type { ActivityDeps } from '../deps';
import { blastRadius } from '../../store/cmdb';
import { openUrgentIncidentIds } from '../../store/incidents';

export interface AssessRiskInput {
  tenantId: string;
  change: Change;
  now: string;
}

const HISTORY_DAYS = 180;
const HISTORY_LIMIT = 50;

/**
 * Gathers what the risk model needs from Postgres (overlapping changes, the
 * assignment group's recent outcomes, the CI's blast radius in the CMDB) and
 * runs the pure model from domain/.
 */
export function assessRiskActivity(deps: ActivityDeps) {
  return async function assessChangeRisk(input: AssessRiskInput): Promise<{ assessment: RiskAssessment; conflicts: ChangeConflict[] }> {
    const { tenantId, change } = input;
    const [conflicts, history, incidentIds, radius] = await Promise.all([
      findConflicts(deps, tenantId, change),
      groupHistory(deps, tenantId, change),
      change.ci_id ? openUrgentIncidentIds(deps.pool, tenantId, change.ci_id) : [],
      change.ci_id ? blastRadius(deps.pool, tenantId, change.ci_id) : undefined,
    ]);
    const assessment = assessRisk({ ...change, conflictIds: conflicts.map((c) => c.id), groupHistory: history, incidentIds, blastRadius: radius }, input.now);
    return { assessment, conflicts };
  };
}

async function findConflicts(deps: ActivityDeps, tenantId: string, change: Change): Promise<ChangeConflict[]> {
  if (!change.scheduled_start || !change.scheduled_end || (!change.ci_id && !change.assignment_group)) return [];
  const { rows } = await deps.pool.query(
    `SELECT id, short_description, state, scheduled_start, scheduled_end, ci_id, assignment_group
       FROM changes
      WHERE tenant_id = $1 AND id <> $2 AND state <> ALL($3::text[])
        AND scheduled_start < $5 AND scheduled_end > $4
        AND ((ci_id IS NOT NULL AND ci_id = $6) OR (assignment_group IS NOT NULL AND assignment_group = $7))
      ORDER BY scheduled_start, id
      LIMIT 20`,
    [tenantId, change.id, WINDOW_RELEASED_STATES, change.scheduled_start, change.scheduled_end, change.ci_id, change.assignment_group],
  );
  return rows.map((r) => ({
    id: r.id,
    short_description: r.short_description,
    state: r.state,
    scheduled_start: new Date(r.scheduled_start).toISOString(),
    scheduled_end: new Date(r.scheduled_end).toISOString(),
    overlap_on: [
      ...(change.ci_id && r.ci_id === change.ci_id ? (['ci'] as const) : []),
      ...(change.assignment_group && r.assignment_group === change.assignment_group ? (['assignment_group'] as const) : []),
    ],
  }));
}

async function groupHistory(deps: ActivityDeps, tenantId: string, change: Change): Promise<{ completed: number; failed: number }> {
  if (!change.assignment_group) return { completed: 0, failed: 0 };
  const { rows } = await deps.pool.query(
    `SELECT count(*) FILTER (WHERE outcome = 'successful')::int AS completed, count(*) FILTER (WHERE outcome = 'failed')::int AS failed
       FROM (SELECT outcome FROM changes
              WHERE tenant_id = $1 AND assignment_group = $2 AND outcome IS NOT NULL AND id <> $3
                AND updated_at > now() - make_interval(days => $4)
              ORDER BY updated_at DESC LIMIT $5) recent`,
    [tenantId, change.assignment_group, change.id, HISTORY_DAYS, HISTORY_LIMIT],
  );
  return { completed: rows[0]?.completed ?? 0, failed: rows[0]?.failed ?? 0 };
}

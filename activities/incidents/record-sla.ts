import { SYSTEM_USER } from '../../domain/actor';
import type { IncidentSla } from '../../domain/incidents/model';
import type { SlaClock, SlaFact, TargetClock } from '../../domain/incidents/sla';
import { recordAudit } from '../../platform/audit';
import { withTransaction } from '../../platform/db';
import type { ActivityDeps } from '../deps';

export interface RecordSlaInput {
  tenantId: string;
  incidentId: string;
  sla: IncidentSla;
  /** Warnings and breaches found in this computation, each recorded once. */
  facts: SlaFact[];
  clock: SlaClock;
  /** The newest timeline version this computation saw; absent from runs that predate it. */
  timelineVersion?: number;
}

/**
 * Writes what the SLA workflow worked out: the incident's sla_* columns and an
 * audit row per new warning or breach, in one transaction. The computation's
 * workflow time orders the writes (`WHERE sla_version < new`), so a retried or
 * late attempt never rolls the clock back, and audit dedupe keys make a fact
 * land once whatever the retries. The API writes the clock too, with each state
 * or priority change: a computation that has not yet heard of the newest change
 * leaves that answer in place (it only adds a breach), and one that moves nothing
 * but computed_at keeps it as served, so an answer equals a read right after it.
 */
export function recordSlaActivity(deps: ActivityDeps) {
  return async function recordIncidentSla(input: RecordSlaInput): Promise<{ written: boolean }> {
    const { tenantId, incidentId, sla } = input;
    return withTransaction(deps.pool, async (db) => {
      const row = await db.query(
        `WITH fresh AS (
           SELECT $7::int IS NULL OR NOT EXISTS (
             SELECT 1 FROM incident_sla_events e WHERE e.tenant_id = $1 AND e.incident_id = $2 AND e.version > $7) AS ok)
         UPDATE incidents SET
           sla = CASE WHEN NOT fresh.ok OR sla::jsonb - 'computed_at' = $3::jsonb - 'computed_at' THEN sla ELSE $3::json END,
           sla_breach_at = CASE WHEN fresh.ok THEN $4 ELSE sla_breach_at END,
           sla_breached = sla_breached OR $5,
           sla_version = CASE WHEN fresh.ok THEN $6 ELSE sla_version END
          FROM fresh
          WHERE tenant_id = $1 AND id = $2 AND sla_version < $6`,
        [
          tenantId, incidentId, JSON.stringify(sla), sla.resolution_due_at, sla.response_breached || sla.resolution_breached, Date.parse(sla.computed_at),
          input.timelineVersion ?? null,
        ],
      );
      for (const fact of input.facts) {
        const target = fact.startsWith('response') ? input.clock.response : input.clock.resolution;
        const breach = fact.endsWith('breach');
        const at = breach ? target.breached_at : target.warned_at;
        await recordAudit(db, {
          tenantId,
          actor: SYSTEM_USER,
          action: breach ? 'incident.sla_breach' : 'incident.sla_warning',
          resourceType: 'incident',
          resourceId: incidentId,
          before: null,
          after: factAudit(target, input.clock, at),
          occurredAt: at === null ? sla.computed_at : new Date(at).toISOString(),
          dedupeKey: `incident-sla:${tenantId}:${incidentId}:${fact}`,
        });
      }
      return { written: (row.rowCount ?? 0) > 0 };
    });
  };
}

function factAudit(target: TargetClock, clock: SlaClock, at: number | null) {
  return {
    target: target.kind,
    priority: clock.priority,
    state: clock.state,
    target_ms: target.target_ms,
    due_at: new Date(target.due_at).toISOString(),
    at: at === null ? null : new Date(at).toISOString(),
  };
}

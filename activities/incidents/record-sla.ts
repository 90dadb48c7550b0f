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
}

/**
 * Writes what the SLA workflow worked out: the incident's sla_* columns and an
 * audit row per new warning or breach, in one transaction. The computation's
 * workflow time orders the writes (`WHERE sla_version < new`), so a retried or
 * late attempt never rolls the clock back, and audit dedupe keys make a fact
 * land once whatever the retries.
 */
export function recordSlaActivity(deps: ActivityDeps) {
  return async function recordIncidentSla(input: RecordSlaInput): Promise<{ written: boolean }> {
    const { tenantId, incidentId, sla } = input;
    return withTransaction(deps.pool, async (db) => {
      const row = await db.query(
        `UPDATE incidents SET sla = $3, sla_breach_at = $4, sla_breached = sla_breached OR $5, sla_version = $6
          WHERE tenant_id = $1 AND id = $2 AND sla_version < $6`,
        [tenantId, incidentId, JSON.stringify(sla), sla.resolution_due_at, sla.response_breached || sla.resolution_breached, Date.parse(sla.computed_at)],
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

import { ApplicationFailure } from '@temporalio/common';
import type { Actor } from '../../domain/actor';
import type { EntityEvent } from '../../domain/draft';
import type { Rollout, RolloutVerdict } from '../../domain/rollouts/model';
import type { PrometheusMeasureInput, PrometheusMeasureResult } from '../../domain/rollouts/ports';
import { recordEntityEvents } from '../../platform/audit';
import { withTransaction } from '../../platform/db';
import { nameUuid } from '../../platform/name-uuid';
import type { ActivityDeps } from '../deps';
import { prometheusTarget } from '../integrations/prometheus-target';
import { queryPrometheus } from './prometheus';

export interface PersistRolloutInput {
  tenantId: string;
  rollout: Rollout;
  events: EntityEvent[];
  actor: Actor;
  requestId?: string;
  /** A measurement the commit records: kept with the row, so no reader sees a verdict without its numbers. */
  measurement?: RolloutVerdict | null;
}

/**
 * The rollout's side effects. The row is version-guarded and the audit events
 * and measurements carry stable ids, so a retried commit writes each once.
 * Traffic itself is the agent's (agent/traffic), reached on its own queue.
 */
export function rolloutActivities(deps: ActivityDeps) {
  return {
    async persistRollout(input: PersistRolloutInput): Promise<{ written: boolean }> {
      const { tenantId, rollout: r, measurement } = input;
      return withTransaction(deps.pool, async (db) => {
        const row = await db.query(
          `INSERT INTO rollouts (tenant_id, id, version, name, environment_id, stable_release_id, canary_release_id, strategy, state, created_at, updated_at, body)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
           ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at, body = EXCLUDED.body
           WHERE rollouts.version < EXCLUDED.version`,
          [tenantId, r.id, r.version, r.name, r.environmentId, r.stableReleaseId, r.canaryReleaseId, r.strategy, r.state, r.createdAt, r.updatedAt, JSON.stringify(r)],
        );
        await recordEntityEvents(db, {
          tenantId,
          resourceType: 'rollout',
          resourceId: r.id,
          versionTag: `v${r.version}`,
          events: input.events,
          actor: input.actor,
          requestId: input.requestId,
          occurredAt: r.updatedAt,
        });
        if (measurement) {
          const { sample, thresholds, stepIndex, at, metric, provider, ...judgement } = measurement;
          await db.query(
            `INSERT INTO rollout_measurements (tenant_id, rollout_id, id, step_index, metric, provider, verdict, measured_at, sample, thresholds, judgement)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT DO NOTHING`,
            [tenantId, r.id, nameUuid(`rollout-measurement:${tenantId}:${r.id}:v${r.version}`), stepIndex, metric, provider, judgement.verdict, at, JSON.stringify(sample), JSON.stringify(thresholds), JSON.stringify(judgement)],
          );
        }
        return { written: (row.rowCount ?? 0) > 0 };
      });
    },

    /** One PromQL value per variant, over Prometheus's HTTP API. */
    async measurePrometheus(input: PrometheusMeasureInput): Promise<PrometheusMeasureResult> {
      const target = input.integrationId && input.tenantId ? await prometheusTarget(deps, input.tenantId, input.integrationId) : null;
      const address = target?.address ?? input.address ?? deps.config.PROMETHEUS_URL;
      if (!address) {
        throw ApplicationFailure.create({ type: 'PROMETHEUS_NOT_CONFIGURED', message: 'The analysis names no Prometheus address and the worker has no PROMETHEUS_URL', nonRetryable: true });
      }
      const query = (q: string) => queryPrometheus(address, q, target?.timeoutMs, target?.headers);
      const optional = (q: string | undefined) => (q === undefined ? Promise.resolve(undefined) : query(q));
      const [stable, canary, stableRequests, canaryRequests] = await Promise.all([
        query(input.stableQuery),
        query(input.canaryQuery),
        optional(input.stableRequestsQuery),
        optional(input.canaryRequestsQuery),
      ]);
      return {
        stable,
        canary,
        ...(stableRequests === undefined ? {} : { stableRequests }),
        ...(canaryRequests === undefined ? {} : { canaryRequests }),
        ...(target ? { integration: target.integration } : {}),
      };
    },
  };
}

export type RolloutActivities = ReturnType<typeof rolloutActivities>;

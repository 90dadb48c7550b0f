import type { RolloutMeasurement } from '../../../domain/rollouts/ports';
import type { Rollout, RolloutState } from '../../../domain/rollouts/model';
import type { Pool } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { listPage, type ListSpec } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';

/** Reads of the rollouts read model and its measurements; every query is scoped by tenant. */

export const ROLLOUT_SORT_COLUMNS = {
  created_at: { column: 'created_at', cast: 'timestamptz' },
  updated_at: { column: 'updated_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'];

export async function findRollout(pool: Pool, tenantId: string, id: string): Promise<Rollout | undefined> {
  const { rows } = await pool.query<{ body: Rollout }>('SELECT body FROM rollouts WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0]?.body;
}

export interface RolloutFilters {
  state?: string;
  environmentId?: string;
  releaseId?: string;
  strategy?: string;
}

/** The list's query: each filter has an index of its own (016_rollouts.sql; test/api/rollouts-indexes.test.ts). */
export function rolloutListSpec(tenantId: string, filters: RolloutFilters): ListSpec {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.state) add((n) => `state = $${n}`, filters.state);
  if (filters.environmentId) add((n) => `environment_id = $${n}`, filters.environmentId);
  if (filters.releaseId) add((n) => `canary_release_id = $${n}`, filters.releaseId);
  if (filters.strategy) add((n) => `strategy = $${n}`, filters.strategy);
  return { from: 'rollouts', select: 'body', where, params, sortColumns: ROLLOUT_SORT_COLUMNS, idColumn: 'id::text' };
}

export async function listRollouts(pool: Pool, tenantId: string, filters: RolloutFilters, request: PageRequest): Promise<Page<Rollout>> {
  return listPage<{ body: Rollout }, Rollout>(pool, rolloutListSpec(tenantId, filters), request, (r) => r.body);
}

/** The newest kept measurements of a rollout (every one is kept, so a past rollout can be judged again). */
export async function measurementsOf(pool: Pool, tenantId: string, rolloutId: string, limit = 200): Promise<RolloutMeasurement[]> {
  const { rows } = await pool.query<{
    id: string;
    step_index: number;
    measured_at: Date;
    metric: RolloutMeasurement['metric'];
    provider: RolloutMeasurement['provider'];
    sample: RolloutMeasurement['sample'];
    thresholds: RolloutMeasurement['thresholds'];
    judgement: RolloutMeasurement['judgement'] & { integration?: RolloutMeasurement['integration'] };
  }>(
    `SELECT id, step_index, measured_at, metric, provider, sample, thresholds, judgement FROM rollout_measurements
      WHERE tenant_id = $1 AND rollout_id = $2 ORDER BY measured_at DESC, id DESC LIMIT $3`,
    [tenantId, rolloutId, limit],
  );
  // The verdict's integration is kept beside its judgement (persistRollout writes the verdict's rest there).
  return rows.map((r) => {
    const { integration, ...judgement } = r.judgement;
    return { id: r.id, rolloutId, stepIndex: r.step_index, at: iso(r.measured_at)!, metric: r.metric, provider: r.provider, sample: r.sample, thresholds: r.thresholds, judgement, integration: integration ?? null };
  });
}

import type { Pool, PoolClient } from '../../../platform/db';
import { iso } from '../../entity-writes';
import type { SortColumn } from '../../list-query';
import type { PIPELINE_SORTS } from './pipelines.routes';

/** Reads and presenter of pipelines; every query is scoped by tenant. */

type Db = Pool | PoolClient;

export const PIPELINE_SORT_COLUMNS: Record<(typeof PIPELINE_SORTS)[number], SortColumn> = {
  name: { column: 'p.name', cast: 'text' },
  created_at: { column: 'p.created_at', cast: 'timestamptz' },
};

/** The pipeline's environments by name in its order, and how many components follow it. */
export const PIPELINE_COLUMNS = `p.id, p.name, p.description, p.version, p.created_by, p.created_at, p.updated_at,
  (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name) ORDER BY x.n), '[]')
     FROM unnest(p.environment_ids) WITH ORDINALITY AS x(env_id, n) JOIN environments e ON e.tenant_id = p.tenant_id AND e.id = x.env_id) AS environments,
  (SELECT count(*)::int FROM components c WHERE c.tenant_id = p.tenant_id AND c.pipeline_id = p.id) AS components`;

export type PipelineRow = {
  id: string;
  name: string;
  description: string | null;
  version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  environments: Array<{ id: string; name: string }>;
  components: number;
};

export const presentPipeline = (r: PipelineRow) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  environments: r.environments,
  components: r.components,
  version: r.version,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export async function findPipeline(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<PipelineRow>(`SELECT ${PIPELINE_COLUMNS} FROM pipelines p WHERE p.tenant_id = $1 AND p.id = $2`, [tenantId, id]);
  return rows[0] ? presentPipeline(rows[0]) : undefined;
}

import type { ReleaseComponentRef } from '../../../domain/promotions/model';
import type { Pool, PoolClient } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { Unprocessable } from '../../errors';
import { listPage, type ListSpec } from '../../list-query';
import type { PageRequest } from '../../pagination';
import type { COMPONENT_SORTS, RELEASE_SORTS } from './releases.routes';

/** Reads of components, their versions and releases; every query is scoped by tenant. */

type Db = Pool | PoolClient;

export const COMPONENT_SORT_COLUMNS = {
  name: { column: 'c.name', cast: 'text' },
  created_at: { column: 'c.created_at', cast: 'timestamptz' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof COMPONENT_SORTS)[number], unknown>;
export const RELEASE_SORT_COLUMNS = {
  created_at: { column: 'created_at', cast: 'timestamptz' },
  name: { column: 'name', cast: 'text' },
} as const satisfies ListSpec['sortColumns'] & Record<(typeof RELEASE_SORTS)[number], unknown>;

export const COMPONENT_COLUMNS = `c.id, c.name, c.repository, c.description, c.deploy_hook, c.pipeline_id, c.created_at, c.updated_at,
  (SELECT v.version FROM component_versions v WHERE v.tenant_id = c.tenant_id AND v.component_id = c.id ORDER BY v.synced_at DESC, v.sync_rank DESC LIMIT 1) AS latest_version`;
export const RELEASE_COLUMNS = 'id, name, version, class, description, components, security_scan, scan_updated_at, deprecated_at, deprecated_reason, created_by, created_at, updated_at';

/** A components row as COMPONENT_COLUMNS reads it. */
export type ComponentRow = {
  id: string;
  name: string;
  repository: string | null;
  description: string | null;
  deploy_hook: string | null;
  pipeline_id: string | null;
  created_at: Date;
  updated_at: Date;
  latest_version: string | null;
};

/** A releases row as RELEASE_COLUMNS reads it. */
export type ReleaseRow = {
  id: string;
  name: string;
  version: string;
  class: string;
  description: string | null;
  components: ReleaseComponentRef[];
  security_scan: { criticalCount: number; highCount: number } | null;
  scan_updated_at: Date | null;
  deprecated_at: Date | null;
  deprecated_reason: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
};

export const presentComponent = (r: ComponentRow) => ({
  id: r.id,
  name: r.name,
  repository: r.repository,
  description: r.description,
  deployHook: r.deploy_hook,
  pipelineId: r.pipeline_id ?? null,
  latestVersion: r.latest_version ?? null,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const presentRelease = (r: ReleaseRow) => ({
  id: r.id,
  name: r.name,
  version: r.version,
  class: r.class,
  description: r.description,
  status: r.deprecated_at ? ('deprecated' as const) : ('ready' as const),
  components: r.components,
  // jsonb keeps keys in its own order; the API answers in the order it documents.
  securityScan: r.security_scan ? { criticalCount: r.security_scan.criticalCount, highCount: r.security_scan.highCount } : null,
  scanUpdatedAt: iso(r.scan_updated_at),
  deprecatedAt: iso(r.deprecated_at),
  deprecatedReason: r.deprecated_reason,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export async function findComponent(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<ComponentRow>(`SELECT ${COMPONENT_COLUMNS} FROM components c WHERE c.tenant_id = $1 AND c.id = $2`, [tenantId, id]);
  return rows[0] ? presentComponent(rows[0]) : undefined;
}

export async function findRelease(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<ReleaseRow>(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ? presentRelease(rows[0]) : undefined;
}

export async function listComponents(pool: Pool, tenantId: string, filters: { name?: string }, request: PageRequest) {
  const where = ['c.tenant_id = $1'];
  const params: unknown[] = [tenantId];
  if (filters.name) {
    params.push(filters.name);
    where.push(`lower(c.name) = lower($${params.length})`);
  }
  return listPage(pool, { from: 'components c', select: COMPONENT_COLUMNS, where, params, sortColumns: COMPONENT_SORT_COLUMNS, idColumn: 'c.id::text' }, request, presentComponent);
}

export async function listReleases(pool: Pool, tenantId: string, filters: { name?: string }, request: PageRequest) {
  const where = ['tenant_id = $1'];
  const params: unknown[] = [tenantId];
  if (filters.name) {
    params.push(filters.name);
    where.push(`lower(name) = lower($${params.length})`);
  }
  return listPage(pool, { from: 'releases', select: RELEASE_COLUMNS, where, params, sortColumns: RELEASE_SORT_COLUMNS, idColumn: 'id::text' }, request, presentRelease);
}

/** A component's synced versions, newest first. */
export async function listComponentVersions(pool: Pool, tenantId: string, componentId: string) {
  const { rows } = await pool.query<{ component_id: string; version: string; digest: string | null; synced_at: Date }>(
    'SELECT component_id, version, digest, synced_at FROM component_versions WHERE tenant_id = $1 AND component_id = $2 ORDER BY synced_at DESC, sync_rank DESC LIMIT 1000',
    [tenantId, componentId],
  );
  return rows.map((r) => ({ componentId: r.component_id, version: r.version, digest: r.digest, syncedAt: iso(r.synced_at)! }));
}

/** Where a release runs now (and whether it is each environment's current one) and where it is being promoted. */
export async function releaseState(pool: Pool, tenantId: string, releaseId: string) {
  const [deployed, promoting] = await Promise.all([
    pool.query<{ environment_id: string; name: string; deployed_at: Date; promotion_id: string | null; current: boolean }>(
      `SELECT DISTINCT ON (d.environment_id) d.environment_id, e.name, d.deployed_at, d.promotion_id,
              d.deployed_at = (SELECT max(x.deployed_at) FROM release_deployments x WHERE x.tenant_id = d.tenant_id AND x.environment_id = d.environment_id AND x.status = 'deployed') AS current
         FROM release_deployments d JOIN environments e ON e.tenant_id = d.tenant_id AND e.id = d.environment_id
        WHERE d.tenant_id = $1 AND d.release_id = $2 AND d.status = 'deployed' ORDER BY d.environment_id, d.deployed_at DESC`,
      [tenantId, releaseId],
    ),
    pool.query<{ id: string; target_environment_id: string; name: string; status: string }>(
      `SELECT p.id, p.target_environment_id, e.name, p.status FROM promotions p JOIN environments e ON e.tenant_id = p.tenant_id AND e.id = p.target_environment_id
        WHERE p.tenant_id = $1 AND p.release_id = $2 AND p.status IN ('pending', 'awaiting_approval', 'approved', 'deploying') ORDER BY p.requested_at`,
      [tenantId, releaseId],
    ),
  ]);
  return {
    releaseId,
    deployedTo: deployed.rows.map((r) => ({ environmentId: r.environment_id, environmentName: r.name, deployedAt: iso(r.deployed_at)!, promotionId: r.promotion_id, current: r.current })),
    promotingTo: promoting.rows.map((r) => ({ promotionId: r.id, environmentId: r.target_environment_id, environmentName: r.name, status: r.status })),
  };
}

/** The release's components with names and digests from the synced versions; refuses what is unknown. */
export async function resolveComponents(db: Db, tenantId: string, wanted: Array<{ componentId: string; version: string }>): Promise<ReleaseComponentRef[]> {
  const seen = new Set<string>();
  for (const w of wanted) {
    if (seen.has(w.componentId)) throw new Unprocessable(`Component ${w.componentId} is listed twice`, 'DUPLICATE_COMPONENT', { componentId: w.componentId });
    seen.add(w.componentId);
  }
  // Held until commit: the components cannot be deleted, nor their versions re-digested, under the new release.
  await db.query('SELECT 1 FROM components WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR SHARE', [tenantId, wanted.map((w) => w.componentId)]);
  const { rows } = await db.query(
    `SELECT w.component_id, w.version, c.name, v.digest, v.version IS NOT NULL AS synced
       FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS w(component_id, version, n)
       LEFT JOIN components c ON c.tenant_id = $1 AND c.id = w.component_id
       LEFT JOIN component_versions v ON v.tenant_id = $1 AND v.component_id = w.component_id AND v.version = w.version
      ORDER BY w.n`,
    [tenantId, wanted.map((w) => w.componentId), wanted.map((w) => w.version)],
  );
  const unknown = rows.filter((r) => r.name === null);
  if (unknown.length) {
    throw new Unprocessable(`Unknown component${unknown.length > 1 ? 's' : ''}: ${unknown.map((r) => r.component_id).join(', ')}`, 'COMPONENT_NOT_FOUND', {
      componentIds: unknown.map((r) => r.component_id),
    });
  }
  const unsynced = rows.filter((r) => !r.synced);
  if (unsynced.length) {
    throw new Unprocessable(
      `Version not synced: ${unsynced.map((r) => `${r.name} ${r.version}`).join(', ')}; record it with POST /components/{id}/sync-versions first`,
      'VERSION_NOT_FOUND',
      { missing: unsynced.map((r) => ({ componentId: r.component_id, version: r.version })) },
    );
  }
  return rows.map((r) => ({ componentId: r.component_id, name: r.name, version: r.version, digest: r.digest }));
}

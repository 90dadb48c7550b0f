import { randomBytes } from 'node:crypto';
import { DomainError } from '../domain/errors';
import { applyCiPatch } from '../domain/cmdb/patch';
import {
  ciNumberToId,
  IMPACT_DEFAULT_DEPTH,
  IMPACT_MAX_PATHS,
  type ConfigurationItem,
  type Impact,
  type Relationship,
} from '../domain/cmdb/model';
import type { CreateCiInput, CreateRelationshipInput, PatchCiInput } from '../domain/cmdb/requests';
import { recordAudit } from '../platform/audit';
import type { Pool, PoolClient } from '../platform/db';

/**
 * The CMDB's SQL, shared by the API, the bulk job's activity, the change risk
 * assessment (a CI's blast radius) and the incident detail (changes on a CI
 * and its dependants). Writes run in the caller's transaction with an audit row.
 */

type Db = Pool | PoolClient;

export interface CiWriter {
  tenantId: string;
  actor: string;
  requestId?: string;
  now: string;
}

export const CI_COLUMNS = 'id, name, class, environment, owner_group, lifecycle_state, description, attributes, created_by, created_at, updated_at, version';

const iso = (v: Date | string) => new Date(v).toISOString();

export function presentCi(row: Record<string, any>): ConfigurationItem {
  return {
    id: row.id,
    name: row.name,
    class: row.class,
    environment: row.environment,
    owner_group: row.owner_group,
    lifecycle_state: row.lifecycle_state,
    description: row.description,
    attributes: row.attributes ?? {},
    created_by: row.created_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    version: row.version,
  };
}

export async function findCi(db: Db, tenantId: string, id: string, lock = false): Promise<ConfigurationItem | undefined> {
  const { rows } = await db.query(`SELECT ${CI_COLUMNS} FROM cmdb_cis WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0] ? presentCi(rows[0]) : undefined;
}

export async function allocateCiId(db: Db, tenantId: string): Promise<string> {
  const { rows } = await db.query<{ n: string }>("SELECT next_resource_number($1, 'ci') AS n", [tenantId]);
  return ciNumberToId(rows[0].n);
}

function duplicateName(err: unknown, name: string, environment: string | null | undefined): never {
  if ((err as { code?: string }).code === '23505') {
    throw new DomainError('invalid_state', 'ALREADY_EXISTS', `A CI named "${name}" already exists${environment ? ` in ${environment}` : ' without an environment'}`, {
      name,
      environment: environment ?? null,
    });
  }
  throw err;
}

/** Inserts a CI; the body is already validated (its attributes against its class). */
export async function insertCi(db: PoolClient, w: CiWriter, input: CreateCiInput, id: string): Promise<ConfigurationItem> {
  const { rows } = await db
    .query(
      `INSERT INTO cmdb_cis (tenant_id, id, version, name, class, environment, owner_group, lifecycle_state, description, attributes, created_by, created_at, updated_at)
       VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING ${CI_COLUMNS}`,
      [w.tenantId, id, input.name, input.class, input.environment ?? null, input.owner_group ?? null, input.lifecycle_state ?? 'operational', input.description ?? null, JSON.stringify(input.attributes ?? {}), w.actor, w.now],
    )
    .catch((err) => duplicateName(err, input.name, input.environment));
  const ci = presentCi(rows[0]);
  await recordAudit(db, { tenantId: w.tenantId, actor: w.actor, requestId: w.requestId, action: 'ci.create', resourceType: 'ci', resourceId: id, after: ci });
  return ci;
}

export async function updateCi(db: PoolClient, w: CiWriter, id: string, patch: PatchCiInput): Promise<ConfigurationItem> {
  const current = await findCi(db, w.tenantId, id, true);
  if (!current) throw new DomainError('not_found', 'NOT_FOUND', `Configuration item ${id} not found`);
  const next = applyCiPatch(current, patch, w.now);
  const { rows } = await db
    .query(
      `UPDATE cmdb_cis SET name = $3, class = $4, environment = $5, owner_group = $6, lifecycle_state = $7, description = $8, attributes = $9,
              updated_at = $10, version = version + 1
        WHERE tenant_id = $1 AND id = $2 RETURNING ${CI_COLUMNS}`,
      [w.tenantId, id, next.name, next.class, next.environment, next.owner_group, next.lifecycle_state, next.description, JSON.stringify(next.attributes), w.now],
    )
    .catch((err) => duplicateName(err, next.name, next.environment));
  const ci = presentCi(rows[0]);
  await recordAudit(db, { tenantId: w.tenantId, actor: w.actor, requestId: w.requestId, action: 'ci.update', resourceType: 'ci', resourceId: id, before: current, after: ci });
  return ci;
}

/** Deletes a CI and, with it, every relationship it is part of (its dependants lose the edge, not themselves). */
export async function deleteCi(db: PoolClient, w: CiWriter, id: string): Promise<void> {
  const current = await findCi(db, w.tenantId, id, true);
  if (!current) throw new DomainError('not_found', 'NOT_FOUND', `Configuration item ${id} not found`);
  await db.query('DELETE FROM cmdb_cis WHERE tenant_id = $1 AND id = $2', [w.tenantId, id]);
  await recordAudit(db, { tenantId: w.tenantId, actor: w.actor, requestId: w.requestId, action: 'ci.delete', resourceType: 'ci', resourceId: id, before: current });
}

export const RELATIONSHIP_COLUMNS = 'id, source_id, type, target_id, created_by, created_at';

export function presentRelationship(row: Record<string, any>, seenFrom: string): Relationship {
  return {
    id: row.id,
    source_id: row.source_id,
    type: row.type,
    target_id: row.target_id,
    direction: row.source_id === seenFrom ? 'outgoing' : 'incoming',
    created_by: row.created_by,
    created_at: iso(row.created_at),
  };
}

export async function insertRelationship(db: PoolClient, w: CiWriter, sourceId: string, input: CreateRelationshipInput): Promise<Relationship> {
  if (!(await findCi(db, w.tenantId, sourceId))) throw new DomainError('not_found', 'NOT_FOUND', `Configuration item ${sourceId} not found`);
  if (input.target_id === sourceId) throw new DomainError('rule', 'SELF_RELATIONSHIP', 'A CI cannot be related to itself', { target_id: input.target_id });
  if (!(await findCi(db, w.tenantId, input.target_id))) {
    throw new DomainError('rule', 'UNKNOWN_CI', `target_id names no configuration item of this tenant (${input.target_id})`, { target_id: input.target_id });
  }
  const id = `rel_${randomBytes(10).toString('hex')}`;
  const { rows } = await db.query(
    `INSERT INTO cmdb_relationships (tenant_id, id, source_id, type, target_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (tenant_id, source_id, type, target_id) DO NOTHING RETURNING ${RELATIONSHIP_COLUMNS}`,
    [w.tenantId, id, sourceId, input.type, input.target_id, w.actor, w.now],
  );
  if (!rows[0]) {
    throw new DomainError('invalid_state', 'ALREADY_EXISTS', `${sourceId} already ${input.type} ${input.target_id}`, { source_id: sourceId, type: input.type, target_id: input.target_id });
  }
  const relationship = presentRelationship(rows[0], sourceId);
  await recordAudit(db, { tenantId: w.tenantId, actor: w.actor, requestId: w.requestId, action: 'ci.relationship.create', resourceType: 'ci', resourceId: sourceId, after: relationship });
  return relationship;
}

/** Deletes a relationship the CI is part of (either end); false when there is none. */
export async function deleteRelationship(db: PoolClient, w: CiWriter, ciId: string, relationshipId: string): Promise<boolean> {
  const { rows } = await db.query(
    `DELETE FROM cmdb_relationships WHERE tenant_id = $1 AND id = $2 AND (source_id = $3 OR target_id = $3) RETURNING ${RELATIONSHIP_COLUMNS}`,
    [w.tenantId, relationshipId, ciId],
  );
  if (!rows[0]) return false;
  await recordAudit(db, { tenantId: w.tenantId, actor: w.actor, requestId: w.requestId, action: 'ci.relationship.delete', resourceType: 'ci', resourceId: ciId, before: presentRelationship(rows[0], ciId) });
  return true;
}

/**
 * What breaks if `ciId` goes down: the CIs that need it, transitively, up to
 * `depth` hops. The recursive walk carries each path and never steps onto a CI
 * already on it, so a cycle ends the path instead of looping; it stops after
 * IMPACT_MAX_PATHS paths (said as `truncated`). Each CI is answered once, at
 * its shortest depth, with a path that reaches it there.
 */
export function impactSql(): string {
  return `
    WITH RECURSIVE walk(id, depth, path, via) AS (
      SELECT r.source_id, 1, ARRAY[$2::text, r.source_id], r.type
        FROM cmdb_relationships r
       WHERE r.tenant_id = $1 AND r.target_id = $2 AND r.source_id <> $2
      UNION ALL
      SELECT r.source_id, w.depth + 1, w.path || r.source_id, r.type
        FROM walk w
        JOIN cmdb_relationships r ON r.tenant_id = $1 AND r.target_id = w.id
       WHERE w.depth < $3 AND r.source_id <> ALL (w.path)
    ),
    bounded AS (SELECT * FROM walk LIMIT $4),
    nearest AS (
      SELECT DISTINCT ON (id) id, depth, path, via FROM bounded ORDER BY id, depth, path
    )
    SELECT n.id, n.depth, n.path, n.via, c.name, c.class, c.environment, c.lifecycle_state,
           (SELECT count(*) FROM bounded)::int AS walked
      FROM nearest n JOIN cmdb_cis c ON c.tenant_id = $1 AND c.id = n.id
     ORDER BY n.depth, c.name, n.id`;
}

export async function impactOf(db: Db, tenantId: string, ciId: string, depth: number = IMPACT_DEFAULT_DEPTH): Promise<Impact> {
  const { rows } = await db.query(impactSql(), [tenantId, ciId, depth, IMPACT_MAX_PATHS + 1]);
  const truncated = (rows[0]?.walked ?? 0) > IMPACT_MAX_PATHS;
  return {
    ci_id: ciId,
    depth,
    total: rows.length,
    truncated,
    affected: rows.map((r) => ({
      id: r.id,
      name: r.name,
      class: r.class,
      environment: r.environment,
      lifecycle_state: r.lifecycle_state,
      depth: r.depth,
      path: r.path,
      via: r.via,
    })),
  };
}

/** The blast radius a change's risk counts: the CI's dependants at the default depth; undefined when the CMDB does not know the CI. */
export async function blastRadius(db: Db, tenantId: string, ciId: string): Promise<{ dependants: number; direct: number } | undefined> {
  if (!(await findCi(db, tenantId, ciId))) return undefined;
  const impact = await impactOf(db, tenantId, ciId);
  return { dependants: impact.total, direct: impact.affected.filter((a) => a.depth === 1).length };
}

export interface ChangeOnCi {
  id: string;
  short_description: string;
  state: string;
  ci_id: string;
  scheduled_start: string | null;
  scheduled_end: string | null;
  updated_at: string;
}

/** Changes on a CI or on any CI that needs it (the default impact depth), latest first. */
export async function changesOnCiAndDependants(db: Db, tenantId: string, ciId: string, limit = 20): Promise<ChangeOnCi[]> {
  const impact = await impactOf(db, tenantId, ciId);
  const ids = [ciId, ...impact.affected.map((a) => a.id)];
  const { rows } = await db.query(
    `SELECT id, short_description, state, ci_id, scheduled_start, scheduled_end, updated_at
       FROM changes WHERE tenant_id = $1 AND ci_id = ANY($2::text[])
      ORDER BY updated_at DESC, id LIMIT $3`,
    [tenantId, ids, limit],
  );
  const at = (v: Date | null) => (v ? iso(v) : null);
  return rows.map((r) => ({
    id: r.id,
    short_description: r.short_description,
    state: r.state,
    ci_id: r.ci_id,
    scheduled_start: at(r.scheduled_start),
    scheduled_end: at(r.scheduled_end),
    updated_at: iso(r.updated_at),
  }));
}

import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { ReleaseComponentRef } from '../../../domain/promotions/model';
import { DEFAULT_PIPELINE_NAME, releasePipelineOf } from '../../../domain/promotions/pipelines';
import type { deprecateSchema, fromLatestSchema, releaseSchema, releaseUpdateSchema } from '../../../domain/promotions/requests';
import { notifyOpenPromotions } from '../../../dispatch/promotion-signals';
import type { PoolClient } from '../../../platform/db';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { Conflict, Unprocessable } from '../../errors';
import { presentRelease, RELEASE_COLUMNS, resolveComponents, type ReleaseRow } from './releases.queries';

/**
 * The API's writes of releases: each one row change and its audit entry in
 * one transaction (auditedWrite). A release's components are resolved (names,
 * digests) and held in that transaction, so what the row records is what was
 * synced. A write that moves what open promotions' gates read (scan, class,
 * deprecation) tells them once it has committed.
 */

type C = Context<AppEnv>;
type ReleaseInput = z.infer<typeof releaseSchema>;
type FromLatestInput = z.infer<typeof fromLatestSchema>;
type ReleaseUpdate = z.infer<typeof releaseUpdateSchema>;
type Deprecation = z.infer<typeof deprecateSchema>;

const DUP_RELEASE = { '*': 'A release with this name already exists' };

/** Creates the release from the component versions it names and answers with its id. */
export function createRelease(c: C, tenantId: string, userId: string, body: ReleaseInput): Promise<string> {
  return insertRelease(c, tenantId, userId, body, (db) => resolveComponents(db, tenantId, body.components));
}

/** Creates a release of the newest synced version of each component (all of them, or those named). */
export function createReleaseFromLatest(c: C, tenantId: string, userId: string, body: FromLatestInput): Promise<string> {
  return insertRelease(c, tenantId, userId, { ...body, description: null, securityScan: null }, async (db) => {
    const { rows } = await db.query(
      `SELECT c.id, c.name, latest.version FROM components c
         LEFT JOIN LATERAL (SELECT v.version FROM component_versions v WHERE v.tenant_id = c.tenant_id AND v.component_id = c.id ORDER BY v.synced_at DESC, v.sync_rank DESC LIMIT 1) latest ON true
        WHERE c.tenant_id = $1 AND ($2::uuid[] IS NULL OR c.id = ANY($2::uuid[])) ORDER BY c.name FOR SHARE OF c`,
      [tenantId, body.componentIds ?? null],
    );
    const missing = (body.componentIds ?? []).filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) throw new Unprocessable(`Unknown components: ${missing.join(', ')}`, 'COMPONENT_NOT_FOUND', { componentIds: missing });
    const bare = rows.filter((r) => !r.version);
    if (rows.length === 0 || bare.length) {
      throw new Unprocessable(rows.length === 0 ? 'There are no components to release' : `No synced versions for ${bare.map((r) => r.name).join(', ')}`, 'NO_VERSIONS');
    }
    return resolveComponents(db, tenantId, rows.map((r) => ({ componentId: r.id, version: r.version })));
  });
}

/**
 * A release follows one pipeline: the one its components name (the default when none does). Components split
 * between pipelines would leave the order gate no order to read, so such a release is refused when it is made.
 */
async function requireOnePipeline(db: PoolClient, tenantId: string, releaseName: string, components: ReleaseComponentRef[]): Promise<void> {
  const { rows } = await db.query<{ pipeline_id: string | null; pipeline: string | null; names: string[] }>(
    `SELECT c.pipeline_id, p.name AS pipeline, array_agg(c.name ORDER BY c.name) AS names
       FROM components c LEFT JOIN pipelines p ON p.tenant_id = c.tenant_id AND p.id = c.pipeline_id
      WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) GROUP BY c.pipeline_id, p.name ORDER BY p.name NULLS FIRST`,
    [tenantId, components.map((c) => c.componentId)],
  );
  if (releasePipelineOf(rows.map((r) => r.pipeline_id)).agreed) return;
  const split = rows.map((r) => ({ pipelineId: r.pipeline_id, pipelineName: r.pipeline ?? DEFAULT_PIPELINE_NAME, components: r.names }));
  throw new Unprocessable(
    `The components of ${releaseName} are in different pipelines (${split.map((s) => `${s.pipelineName}: ${s.components.join(', ')}`).join('; ')}); a release follows one pipeline`,
    'RELEASE_PIPELINES_DIFFER',
    { field: 'components', pipelines: split },
  );
}

async function insertRelease(
  c: C,
  tenantId: string,
  userId: string,
  body: { name: string; version: string; class: string; description?: string | null; securityScan?: { criticalCount: number; highCount: number } | null },
  components: (db: PoolClient) => Promise<ReleaseComponentRef[]>,
): Promise<string> {
  const id = randomUUID();
  await auditedWrite(
    c,
    async (db) => {
      const resolved = await components(db);
      await requireOnePipeline(db, tenantId, body.name, resolved);
      await db.query(
        `INSERT INTO releases (tenant_id, id, name, version, class, description, components, security_scan, scan_updated_at, created_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8, CASE WHEN $8::jsonb IS NULL THEN NULL ELSE now() END, $9)`,
        [tenantId, id, body.name, body.version, body.class, body.description ?? null, JSON.stringify(resolved), body.securityScan ? JSON.stringify(body.securityScan) : null, userId],
      );
      return { result: id, audit: { action: 'release.create', resourceType: 'release', resourceId: id, after: { ...body, components: resolved } } };
    },
    { unique: DUP_RELEASE },
  );
  return id;
}

/** Edits description, class or security scan; a new scan result or class re-gates open promotions. */
export async function updateRelease(c: C, tenantId: string, id: string, body: ReleaseUpdate): Promise<void> {
  const moved = await auditedWrite(c, async (db) => {
    const before = (await db.query<ReleaseRow>(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id])).rows[0];
    if (!before) return undefined;
    const scanGiven = body.securityScan !== undefined;
    await db.query(
      `UPDATE releases SET description = CASE WHEN $3 THEN $4 ELSE description END, class = COALESCE($5, class),
              security_scan = CASE WHEN $6 THEN $7::jsonb ELSE security_scan END,
              scan_updated_at = CASE WHEN $6 THEN now() ELSE scan_updated_at END, updated_at = now()
        WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, body.description !== undefined, body.description ?? null, body.class ?? null, scanGiven, scanGiven && body.securityScan ? JSON.stringify(body.securityScan) : null],
    );
    const scan = (s: { criticalCount: number; highCount: number } | null | undefined) => (s ? `${s.criticalCount}/${s.highCount}` : null);
    const gateMoved = (scanGiven && scan(body.securityScan) !== scan(before.security_scan)) || (body.class !== undefined && body.class !== before.class);
    return { result: gateMoved, audit: { action: 'release.update', resourceType: 'release', resourceId: id, before: presentRelease(before), after: body } };
  }, { notFound: `Release ${id} not found` });
  if (moved) await notifyOpenPromotions(c.get('deps'), tenantId, { releaseId: id }, 'the release’s security scan or class changed');
}

/** A release that was promoted or deployed stays (409 IN_USE): it is deprecated instead. */
export async function deleteRelease(c: C, tenantId: string, id: string): Promise<void> {
  await auditedWrite(c, async (db) => {
    const found = await db.query<ReleaseRow>(`SELECT ${RELEASE_COLUMNS} FROM releases WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
    if (!found.rowCount) return undefined;
    const used = await db.query(
      `SELECT (SELECT count(*) FROM promotions WHERE tenant_id = $1 AND release_id = $2)::int + (SELECT count(*) FROM release_deployments WHERE tenant_id = $1 AND release_id = $2)::int AS n`,
      [tenantId, id],
    );
    if (used.rows[0].n > 0) throw new Conflict(`Release ${found.rows[0].name} was promoted or deployed; deprecate it instead`, 'IN_USE');
    await db.query('DELETE FROM releases WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return { result: id, audit: { action: 'release.delete', resourceType: 'release', resourceId: id, before: presentRelease(found.rows[0]) } };
  }, { notFound: `Release ${id} not found` });
}

/** A deprecated release can no longer be promoted; open promotions of it are told. Deprecating again keeps the first time. */
export async function deprecateRelease(c: C, tenantId: string, id: string, body: Deprecation): Promise<void> {
  await auditedWrite(c, async (db) => {
    const updated = await db.query(
      `UPDATE releases SET deprecated_at = COALESCE(deprecated_at, now()), deprecated_reason = COALESCE($3, deprecated_reason), updated_at = now()
        WHERE tenant_id = $1 AND id = $2 RETURNING id`,
      [tenantId, id, body.reason ?? null],
    );
    if (!updated.rowCount) return undefined;
    return { result: id, audit: { action: 'release.deprecate', resourceType: 'release', resourceId: id, after: { reason: body.reason ?? null } } };
  }, { notFound: `Release ${id} not found` });
  await notifyOpenPromotions(c.get('deps'), tenantId, { releaseId: id }, 'the release was deprecated');
}

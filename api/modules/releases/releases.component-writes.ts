import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { componentSchema, syncVersionsSchema } from '../../../domain/promotions/requests';
import { compareVersions } from '../../../domain/promotions/version-order';
import { notifyOpenPromotions } from '../../../dispatch/promotion-signals';
import type { AppEnv } from '../../context';
import { refuseWhileDeploying, requireHookWrite } from '../../deploy-hooks';
import { auditedWrite } from '../../entity-writes';
import type { PoolClient } from '../../../platform/db';
import { Conflict, Unprocessable } from '../../errors';

/**
 * The API's writes of components and their synced versions: each one row
 * change and its audit entry in one transaction (auditedWrite). A write that
 * moves what open promotions' approvals are bound to (a deploy hook, a
 * version's digest) tells them once it has committed.
 */

type C = Context<AppEnv>;
type ComponentInput = z.infer<typeof componentSchema>;
type SyncVersionsInput = { versions: NonNullable<z.infer<typeof syncVersionsSchema>['versions']> };

const DUP_COMPONENT = { '*': 'A component with this name already exists' };

/** The pipeline a component names must be the tenant's; held (FOR SHARE) until the write commits, so it is not deleted under it. */
async function requirePipeline(db: PoolClient, tenantId: string, pipelineId: string | null | undefined): Promise<void> {
  if (!pipelineId) return;
  if ((await db.query('SELECT 1 FROM pipelines WHERE tenant_id = $1 AND id = $2 FOR SHARE', [tenantId, pipelineId])).rowCount) return;
  throw new Unprocessable(`pipelineId: no such pipeline ${pipelineId}`, 'PIPELINE_NOT_FOUND', { field: 'pipelineId', pipelineId });
}

/** Creates the component and answers with its id. */
export async function createComponent(c: C, tenantId: string, body: ComponentInput): Promise<string> {
  requireHookWrite(c, null, body.deployHook, `component ${body.name}`);
  const id = randomUUID();
  await auditedWrite(
    c,
    async (db) => {
      await requirePipeline(db, tenantId, body.pipelineId);
      await db.query('INSERT INTO components (tenant_id, id, name, repository, description, deploy_hook, pipeline_id) VALUES ($1,$2,$3,$4,$5,$6,$7)', [
        tenantId, id, body.name, body.repository ?? null, body.description ?? null, body.deployHook ?? null, body.pipelineId ?? null,
      ]);
      return { result: id, audit: { action: 'component.create', resourceType: 'component', resourceId: id, after: body } };
    },
    { unique: DUP_COMPONENT },
  );
  return id;
}

export async function updateComponent(c: C, tenantId: string, id: string, body: ComponentInput): Promise<void> {
  const moved = await auditedWrite(
    c,
    async (db) => {
      const before = (await db.query('SELECT name, repository, description, deploy_hook, pipeline_id FROM components WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id])).rows[0];
      if (!before) return undefined;
      const changed = requireHookWrite(c, before.deploy_hook, body.deployHook ?? null, `component ${before.name}`);
      if (changed) await refuseWhileDeploying(db, tenantId, { componentId: id }, `component ${before.name}`);
      await requirePipeline(db, tenantId, body.pipelineId);
      await db.query('UPDATE components SET name = $3, repository = $4, description = $5, deploy_hook = $6, pipeline_id = $7, updated_at = now() WHERE tenant_id = $1 AND id = $2', [
        tenantId, id, body.name, body.repository ?? null, body.description ?? null, body.deployHook ?? null, body.pipelineId ?? null,
      ]);
      const pipelineMoved = (before.pipeline_id ?? null) !== (body.pipelineId ?? null);
      return { result: { hook: changed, pipeline: pipelineMoved }, audit: { action: 'component.update', resourceType: 'component', resourceId: id, before, after: body } };
    },
    { unique: DUP_COMPONENT, notFound: `Component ${id} not found` },
  );
  // The hook is among what approvals are bound to, the pipeline decides the order gate: open promotions of releases built on the component look again.
  if (moved.hook) await notifyOpenPromotions(c.get('deps'), tenantId, { componentId: id }, 'a deploy hook changed');
  else if (moved.pipeline) await notifyOpenPromotions(c.get('deps'), tenantId, { componentId: id }, 'the component moved to another pipeline');
}

/** A component that a release is built on stays (409 IN_USE). */
export async function deleteComponent(c: C, tenantId: string, id: string): Promise<void> {
  await auditedWrite(c, async (db) => {
    const found = await db.query('SELECT name FROM components WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]);
    if (!found.rowCount) return undefined;
    const used = await db.query(`SELECT name FROM releases WHERE tenant_id = $1 AND components @> $2::jsonb LIMIT 3`, [tenantId, JSON.stringify([{ componentId: id }])]);
    if (used.rowCount) throw new Conflict(`Component ${found.rows[0].name} is used by releases ${used.rows.map((r) => r.name).join(', ')}`, 'IN_USE');
    await db.query('DELETE FROM components WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    return { result: id, audit: { action: 'component.delete', resourceType: 'component', resourceId: id, before: found.rows[0] } };
  }, { notFound: `Component ${id} not found` });
}

/**
 * Records the versions a registry has for a component. A version already
 * recorded keeps its place in time; a new digest re-tags it, every release
 * built on it carries the new digest, and their open promotions are told.
 */
export async function syncComponentVersions(c: C, tenantId: string, id: string, { versions }: SyncVersionsInput) {
  const result = await auditedWrite(c, async (db) => {
    if (!(await db.query('SELECT 1 FROM components WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id])).rowCount) return undefined;
    // Listed twice, the last entry wins; ranked by precedence, so the highest version of one sync is its newest.
    const unique = [...new Map(versions.map((v) => [v.version, v.digest ?? null])).entries()].sort(([a], [b]) => compareVersions(a, b));
    // A version already recorded keeps its place in time; a new digest re-tags it, and a sync that gives none keeps the known one.
    const { rows } = await db.query<{ version: string; digest: string | null; existed: boolean; previous_digest: string | null }>(
      `WITH incoming AS (SELECT * FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS i(version, digest, rank)),
            previous AS (SELECT v.version, v.digest FROM component_versions v JOIN incoming i USING (version) WHERE v.tenant_id = $1 AND v.component_id = $2),
            upserted AS (
              INSERT INTO component_versions (tenant_id, component_id, version, digest, sync_rank)
              SELECT $1, $2, version, digest, rank FROM incoming
              ON CONFLICT (tenant_id, component_id, version) DO UPDATE SET digest = EXCLUDED.digest
                WHERE EXCLUDED.digest IS NOT NULL AND component_versions.digest IS DISTINCT FROM EXCLUDED.digest
              RETURNING version, digest, sync_rank)
       SELECT u.version, u.digest, p.version IS NOT NULL AS existed, p.digest AS previous_digest FROM upserted u LEFT JOIN previous p USING (version) ORDER BY u.sync_rank`,
      [tenantId, id, unique.map(([v]) => v), unique.map(([, d]) => d)],
    );
    const redigested = [];
    for (const r of rows.filter((r) => r.existed)) {
      // A re-tagged version: every release built on it now carries the new digest, and its approvals must notice.
      const touched = await db.query<{ id: string }>(
        `UPDATE releases SET components = (
             SELECT jsonb_agg(CASE WHEN e->>'componentId' = $2 AND e->>'version' = $3 THEN jsonb_set(e, '{digest}', to_jsonb($4::text)) ELSE e END ORDER BY n)
               FROM jsonb_array_elements(components) WITH ORDINALITY AS x(e, n)), updated_at = now()
          WHERE tenant_id = $1 AND components @> $5::jsonb RETURNING id`,
        [tenantId, id, r.version, r.digest, JSON.stringify([{ componentId: id, version: r.version }])],
      );
      redigested.push({ version: r.version, from: r.previous_digest, to: r.digest, releases: touched.rows.map((t) => t.id as string) });
    }
    const summary = { componentId: id, synced: unique.length, added: rows.filter((r) => !r.existed).map((r) => r.version as string), redigested };
    return { result: summary, audit: { action: 'component.sync_versions', resourceType: 'component', resourceId: id, after: summary } };
  }, { notFound: `Component ${id} not found` });
  for (const releaseId of new Set(result.redigested.flatMap((r) => r.releases))) await notifyOpenPromotions(c.get('deps'), tenantId, { releaseId }, 'a component digest changed');
  return result;
}
